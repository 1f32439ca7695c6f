package openapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"
)

// wsClient is one WebSocket connection, used to send the messages the HTTP
// routes then show.
type wsClient struct {
	conn *websocket.Conn
}

// dialWS opens a WebSocket for the token's user and validates its
// handshake's request and 101 answer against the description.
func (c *checker) dialWS(t *testing.T, token string) *wsClient {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	path := "/v1/ws?token=" + token
	conn, resp, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(c.base, "http")+path, nil)
	if err != nil {
		t.Fatalf("dial the WebSocket: %v", err)
	}
	t.Cleanup(func() { _ = conn.CloseNow() })
	// The handshake as websocket.Dial sent it, which the client does not
	// hand back.
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", "websocket")
	req.Header.Set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
	req.Header.Set("Sec-WebSocket-Version", "13")
	c.validate(t, req, false, answer{status: resp.StatusCode, header: resp.Header})
	return &wsClient{conn: conn}
}

// sendAck is what the test reads of a send's answer.
type sendAck struct {
	Type      string `json:"type"`
	ID        string `json:"id"`
	SessionID string `json:"sessionId"`
	MessageID string `json:"messageId"`
	Seq       int64  `json:"seq"`
	Code      string `json:"code"`
	Message   string `json:"message"`
}

// send sends frame (a send frame with an id) and returns its answer, which
// must be a sendAck. Pushes that come before it are passed over.
func (w *wsClient) send(t *testing.T, frame map[string]any) sendAck {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	if err := wsjson.Write(ctx, w.conn, frame); err != nil {
		t.Fatalf("write %v: %v", frame, err)
	}
	for {
		var raw json.RawMessage
		if err := wsjson.Read(ctx, w.conn, &raw); err != nil {
			t.Fatalf("read the answer to %v: %v", frame, err)
		}
		var ack sendAck
		if err := json.Unmarshal(raw, &ack); err != nil {
			t.Fatalf("decode %s: %v", raw, err)
		}
		if ack.ID != frame["id"] {
			continue
		}
		if ack.Type != "sendAck" {
			t.Fatalf("%v answered %s", frame, raw)
		}
		return ack
	}
}
