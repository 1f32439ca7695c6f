package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/tellyou/tellyou/events/pgstore/pgtest"
	"github.com/tellyou/tellyou/handlers/transport/auth"
)

// node is a `tellyou serve` running in this process on a loopback port.
type node struct {
	base   string
	secret []byte
	stop   context.CancelFunc
	done   chan error
}

func startNode(t *testing.T) *node {
	t.Helper()
	return startNodeWith(t, pgtest.NewDatabase(t), "serve-test-secret-0123456789abcdef")
}

// startNodeWith runs serve on databaseURL; an empty secret leaves
// TELLYOU_JWT_SECRET unset.
func startNodeWith(t *testing.T, databaseURL, secret string) *node {
	t.Helper()
	vars := map[string]string{"TELLYOU_DATABASE_URL": databaseURL}
	if secret != "" {
		vars["TELLYOU_JWT_SECRET"] = secret
	}
	return startNodeEnv(t, vars)
}

// startNodeEnv runs serve configured by vars.
func startNodeEnv(t *testing.T, vars map[string]string) *node {
	t.Helper()
	secret := vars["TELLYOU_JWT_SECRET"]
	cfg, err := configFromEnv(env(vars))
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	n := &node{base: "http://" + ln.Addr().String(), secret: []byte(secret), stop: stop, done: make(chan error, 1)}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	go func() { n.done <- serve(ctx, cfg, logger, ln) }()
	t.Cleanup(func() {
		stop()
		select {
		case <-n.done:
		case <-time.After(30 * time.Second):
			t.Error("serve did not stop within 30s")
		}
	})
	n.waitReady(t)
	return n
}

func (n *node) token(t *testing.T, user string, roles ...string) string {
	t.Helper()
	tok, err := auth.Mint(n.secret, auth.Principal{UserID: user, Roles: roles}, time.Now(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func (n *node) waitReady(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(n.base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("server not ready after 30s: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// request sends body (none when empty) with token, and returns the status
// and the answer's body.
func (n *node) request(t *testing.T, method, path, token, body string) (int, []byte) {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, n.base+path, r)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read the answer: %v", method, path, err)
	}
	return resp.StatusCode, answer
}

// send is a request with a JSON body as user; it returns the status and
// decodes the answer into out.
func (n *node) send(t *testing.T, method, user, path, body string, out any) int {
	t.Helper()
	status, answer := n.request(t, method, path, n.token(t, user), body)
	if out != nil {
		if err := json.Unmarshal(answer, out); err != nil {
			t.Fatalf("%s %s: decode %q: %v", method, path, answer, err)
		}
	}
	return status
}

// get fetches a JSON answer as user into out and returns the status.
func (n *node) get(t *testing.T, user, path string, out any) int {
	t.Helper()
	return n.send(t, http.MethodGet, user, path, "", out)
}

func (n *node) dial(t *testing.T, user string) *websocket.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, strings.Replace(n.base, "http", "ws", 1)+"/v1/ws?token="+n.token(t, user), nil)
	if err != nil {
		t.Fatalf("dial as %s: %v", user, err)
	}
	t.Cleanup(func() { c.CloseNow() })
	return c
}

func writeFrame(t *testing.T, c *websocket.Conn, frame string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.Write(ctx, websocket.MessageText, []byte(frame)); err != nil {
		t.Fatal(err)
	}
}

// readUntil reads frames until one of the given type arrives.
func readUntil(t *testing.T, c *websocket.Conn, frameType string) map[string]any {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for {
		_, data, err := c.Read(ctx)
		if err != nil {
			t.Fatalf("waiting for %s: %v", frameType, err)
		}
		var f map[string]any
		if err := json.Unmarshal(data, &f); err != nil {
			t.Fatalf("frame %s: %v", data, err)
		}
		if f["type"] == frameType {
			return f
		}
	}
}

func TestServeOfflineMessagesReachInboxPullAndSync(t *testing.T) {
	t.Parallel()
	n := startNode(t)
	ann := n.dial(t, "ann")
	const count = 5
	var sessionID string
	for i := 1; i <= count; i++ {
		writeFrame(t, ann, fmt.Sprintf(`{"type":"send","id":"s%d","toUserId":"bob","messageType":1,"content":"while you were out %d","clientMessageId":"c%d"}`, i, i, i))
		ack := readUntil(t, ann, "sendAck")
		if ack["seq"] != float64(i) || ack["id"] != fmt.Sprintf("s%d", i) {
			t.Fatalf("sendAck %d = %v", i, ack)
		}
		sessionID = ack["sessionId"].(string)
	}

	// bob was offline: his inbox holds the messages once the projections have them.
	var inbox struct {
		Messages []struct {
			Seq     int64  `json:"seq"`
			Content string `json:"content"`
		} `json:"messages"`
	}
	deadline := time.Now().Add(30 * time.Second)
	for len(inbox.Messages) < count {
		if status := n.get(t, "bob", "/v1/inbox", &inbox); status != http.StatusOK {
			t.Fatalf("inbox status %d", status)
		}
		if time.Now().After(deadline) {
			t.Fatalf("inbox holds %d messages after 30s, want %d", len(inbox.Messages), count)
		}
	}
	if inbox.Messages[0].Seq != 1 || inbox.Messages[count-1].Content != fmt.Sprintf("while you were out %d", count) {
		t.Fatalf("inbox = %+v", inbox.Messages)
	}

	// An offline pull with markRead reads the first two.
	var page struct {
		Messages []struct{ Seq int64 } `json:"messages"`
		LastSeq  int64                 `json:"lastSeq"`
		HasMore  bool                  `json:"hasMore"`
	}
	if status := n.get(t, "bob", "/v1/sessions/"+sessionID+"/messages?afterSeq=0&limit=2&markRead=true", &page); status != http.StatusOK {
		t.Fatalf("pull status %d", status)
	}
	if len(page.Messages) != 2 || !page.HasMore || page.LastSeq != count {
		t.Fatalf("pull = %+v", page)
	}
	var unread struct {
		Total    int64            `json:"total"`
		Sessions map[string]int64 `json:"sessions"`
	}
	deadline = time.Now().Add(30 * time.Second)
	for unread.Total != count-2 {
		n.get(t, "bob", "/v1/unread", &unread)
		if time.Now().After(deadline) {
			t.Fatalf("unread = %+v after markRead, want %d", unread, count-2)
		}
	}

	// bob comes online and syncs the rest.
	bob := n.dial(t, "bob")
	writeFrame(t, bob, fmt.Sprintf(`{"type":"sync","id":"y","sessionId":%q,"afterSeq":2}`, sessionID))
	msgs := readUntil(t, bob, "messages")
	list := msgs["messages"].([]any)
	if msgs["id"] != "y" || len(list) != count-2 || list[0].(map[string]any)["seq"] != float64(3) || msgs["hasMore"] != false {
		t.Fatalf("sync = %v", msgs)
	}
	// And he now gets pushes live.
	writeFrame(t, ann, `{"type":"send","toUserId":"bob","messageType":1,"content":"welcome back","clientMessageId":"c-live"}`)
	// Pushes are at-least-once: pushes of the earlier messages, still on their
	// way from the log when bob connected, may come first; he keys by seq.
	for {
		push := readUntil(t, bob, "message")
		m := push["message"].(map[string]any)
		if seq := m["seq"].(float64); seq <= count {
			continue
		}
		if m["seq"] != float64(count+1) || m["content"] != "welcome back" {
			t.Fatalf("live push = %v", push)
		}
		break
	}
}

func TestServeHealthMetricsAndGracefulShutdown(t *testing.T) {
	t.Parallel()
	n := startNode(t)
	resp, err := http.Get(n.base + "/healthz")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("healthz = %v, %v", resp, err)
	}
	resp.Body.Close()
	resp, err = http.Get(n.base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, name := range []string{"tellyou_connected_clients", "tellyou_projection_lag_events", "tellyou_log_head_position", "tellyou_messages_sent_total"} {
		if !strings.Contains(string(body), name) {
			t.Errorf("/metrics lacks %s", name)
		}
	}
	if status := n.get(t, "ann", "/v1/sessions", nil); status != http.StatusOK {
		t.Fatalf("sessions status %d", status)
	}

	c := n.dial(t, "ann")
	n.stop()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, _, err = c.Read(ctx)
	if status := websocket.CloseStatus(err); status != websocket.StatusGoingAway {
		t.Fatalf("connection closed with %v (%v), want 1001 going away", status, err)
	}
	select {
	case err := <-n.done:
		n.done <- err
		if err != nil {
			t.Fatalf("serve returned %v", err)
		}
	case <-ctx.Done():
		t.Fatal("serve did not return after shutdown")
	}
	if resp, err := http.Get(n.base + "/healthz"); err == nil {
		resp.Body.Close()
		t.Fatal("server still answers after shutdown")
	}
}

// With no TELLYOU_JWT_SECRET, serve generates a secret and keeps it in the
// database; `tellyou token` reads it there, so its tokens open the server,
// while a token signed with anything else does not.
func TestServeWithoutASecretAcceptsTokensFromTheTokenCommand(t *testing.T) {
	t.Parallel()
	url := pgtest.NewDatabase(t)
	n := startNodeWith(t, url, "")
	var out, errOut bytes.Buffer
	if err := run(context.Background(), []string{"token", "--user", "ann"}, env(map[string]string{"TELLYOU_DATABASE_URL": url}), &out, &errOut); err != nil {
		t.Fatalf("token: %v (%s)", err, errOut.String())
	}
	status := func(tok string) int {
		req, _ := http.NewRequest(http.MethodGet, n.base+"/v1/sessions", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := status(strings.TrimSpace(out.String())); got != http.StatusOK {
		t.Fatalf("token from `tellyou token` answered %d, want 200", got)
	}
	forged, err := auth.Mint([]byte("some-other-secret-0123456789abcdef"), auth.Principal{UserID: "ann"}, time.Now(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if got := status(forged); got != http.StatusUnauthorized {
		t.Fatalf("token signed with another secret answered %d, want 401", got)
	}
}
