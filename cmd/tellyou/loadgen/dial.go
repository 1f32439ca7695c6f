package loadgen

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/tellyou/tellyou/handlers/auth"
)

// sourceClients returns one HTTP client per loopback source address
// 127.0.0.1 ... 127.0.0.n: each source has its own range of ephemeral ports
// towards the server's one address and port.
func sourceClients(n int) []*http.Client {
	clients := make([]*http.Client, n)
	for i := range clients {
		dialer := &net.Dialer{Timeout: 30 * time.Second,
			LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, byte(1+i))}}
		clients[i] = &http.Client{Transport: &http.Transport{
			DialContext:         dialer.DialContext,
			MaxIdleConnsPerHost: 4,
			IdleConnTimeout:     30 * time.Second,
		}}
	}
	return clients
}

// tokens mints a day's token per user.
type tokens struct {
	secret []byte
	now    time.Time
}

func (t tokens) of(user string) (string, error) {
	tok, err := auth.Mint(t.secret, auth.Principal{UserID: user, Device: "bench"}, t.now, 24*time.Hour)
	if err != nil {
		return "", fmt.Errorf("mint a token for %s: %w", user, err)
	}
	return tok, nil
}

// createGroup creates a group owned by members[0] over HTTP and returns its
// session id.
func createGroup(ctx context.Context, client *http.Client, addr, token string, members []string) (string, error) {
	body, err := json.Marshal(map[string]any{"title": "bench", "members": members})
	if err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+addr+"/v1/sessions", bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return "", fmt.Errorf("create group: %w", err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", fmt.Errorf("create group: read answer: %w", err)
	}
	if resp.StatusCode != http.StatusCreated {
		return "", fmt.Errorf("create group: %s: %s", resp.Status, bytes.TrimSpace(data))
	}
	var created struct {
		SessionID string `json:"sessionId"`
	}
	if err := json.Unmarshal(data, &created); err != nil || created.SessionID == "" {
		return "", fmt.Errorf("create group: answer %q: %v", data, err)
	}
	return created.SessionID, nil
}
