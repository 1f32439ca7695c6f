package loadgen

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"
)

// memberChunkBytes bounds the member names in one request: the server
// takes request bodies of up to 64 KiB.
const memberChunkBytes = 48 << 10

// createGroup creates a group owned by members[0] with every member over
// HTTP and returns its session id: created with as many members as fit in
// chunkBytes of names, the rest added in chunks as large (POST
// /v1/sessions/{id}/members).
func createGroup(ctx context.Context, client *http.Client, addr, token string, members []string, chunkBytes int) (string, error) {
	chunks := memberChunks(members, chunkBytes)
	var created struct {
		SessionID string `json:"sessionId"`
	}
	if err := post(ctx, client, "http://"+addr+"/v1/sessions", token, map[string]any{"title": "bench", "members": chunks[0]}, http.StatusCreated, &created); err != nil {
		return "", fmt.Errorf("create group: %w", err)
	}
	if created.SessionID == "" {
		return "", fmt.Errorf("create group: the answer names no session")
	}
	for i, chunk := range chunks[1:] {
		u := "http://" + addr + "/v1/sessions/" + url.PathEscape(created.SessionID) + "/members"
		if err := post(ctx, client, u, token, map[string]any{"add": chunk}, http.StatusOK, nil); err != nil {
			return "", fmt.Errorf("add members, chunk %d of %d: %w", i+2, len(chunks), err)
		}
	}
	return created.SessionID, nil
}

// memberChunks splits members into runs whose JSON strings take at most
// limit bytes together (at least one member each).
func memberChunks(members []string, limit int) [][]string {
	var chunks [][]string
	start, size := 0, 0
	for i, m := range members {
		n := len(m) + 3 // quotes and comma
		if i > start && size+n > limit {
			chunks = append(chunks, members[start:i])
			start, size = i, 0
		}
		size += n
	}
	return append(chunks, members[start:])
}

// post sends body as JSON with the token and decodes the answer into out
// (when not nil); any status but want is an error carrying the answer.
func post(ctx context.Context, client *http.Client, u, token string, body any, want int, out any) error {
	data, err := json.Marshal(body)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(data))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("read the answer: %w", err)
	}
	if resp.StatusCode != want {
		return fmt.Errorf("%s: %s", resp.Status, bytes.TrimSpace(answer))
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(answer, out); err != nil {
		return fmt.Errorf("answer %q: %w", answer, err)
	}
	return nil
}
