package loadgen

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"
)

// CreateGroupInChunks creates a group of members, owned by members[0], with
// at most chunkBytes of member names per request.
func CreateGroupInChunks(ctx context.Context, addr string, secret []byte, members []string, chunkBytes int) (string, error) {
	tok, err := tokens{secret: secret, now: time.Now()}.of(members[0])
	if err != nil {
		return "", err
	}
	return createGroup(ctx, sourceClients(1, 0)[0], addr, tok, members, chunkBytes)
}

// GroupMembers is the member list of session as user sees it in the
// session list (nil while the read models have not caught up).
func GroupMembers(ctx context.Context, addr string, secret []byte, user, session string) ([]string, error) {
	tok, err := tokens{secret: secret, now: time.Now()}.of(user)
	if err != nil {
		return nil, err
	}
	var page struct {
		Sessions []struct {
			SessionID string   `json:"sessionId"`
			Members   []string `json:"members"`
		} `json:"sessions"`
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/v1/sessions", nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET /v1/sessions: %s", resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(&page); err != nil {
		return nil, err
	}
	for _, s := range page.Sessions {
		if s.SessionID == session {
			return s.Members, nil
		}
	}
	return nil, nil
}
