package ws_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/tellyou/tellyou/handlers/transport/auth"
	"github.com/tellyou/tellyou/handlers/transport/ws"
)

// serve runs h on a loopback server until the test ends and returns a
// function that dials it as a user.
func serve(t *testing.T, h *ws.Handler) func(user string) (*websocket.Conn, *http.Response, error) {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := h.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		srv.Close()
	})
	url := "ws" + strings.TrimPrefix(srv.URL, "http") + "/v1/ws?token="
	return func(user string) (*websocket.Conn, *http.Response, error) {
		token, err := auth.Mint(secret, auth.Principal{UserID: user}, time.Now(), time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		c, resp, err := websocket.Dial(ctx, url+token, nil)
		if err == nil {
			// Registered after the server's cleanup, so it runs first: the
			// server then has no close handshake to wait for.
			t.Cleanup(func() { _ = c.CloseNow() })
		}
		return c, resp, err
	}
}

func TestConnectionsOverTheUserLimitAreRefusedBeforeTheUpgrade(t *testing.T) {
	t.Parallel()
	dial := serve(t, newHandler(t, ws.Limits{MaxConnsPerUser: 2}))
	var ann []*websocket.Conn
	for range 2 {
		c, _, err := dial("ann")
		if err != nil {
			t.Fatalf("connection %d of 2: %v", len(ann)+1, err)
		}
		ann = append(ann, c)
	}
	_, resp, err := dial("ann")
	if err == nil || resp == nil || resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("third connection: err %v, response %v; want 429", err, resp)
	}
	var body struct{ Code, Message string }
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || body.Code != "rate_limited" ||
		body.Message != "too many connections for this user" || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("429 body %+v (%v), Content-Type %q", body, err, resp.Header.Get("Content-Type"))
	}
	if _, _, err := dial("bob"); err != nil {
		t.Fatalf("another user is refused: %v", err)
	}

	// A closed connection gives its slot back once the server has seen it close.
	if err := ann[0].Close(websocket.StatusNormalClosure, ""); err != nil {
		t.Fatalf("close: %v", err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, resp, err := dial("ann")
		if err == nil {
			break
		}
		if resp == nil || resp.StatusCode != http.StatusTooManyRequests || time.Now().After(deadline) {
			t.Fatalf("connection after a close: %v (response %v)", err, resp)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if _, resp, err := dial("ann"); err == nil || resp == nil || resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("connection over the limit after the slot was reused: err %v, response %v", err, resp)
	}
}

func TestFramesOverTheConnectionLimitAreAnsweredRateLimited(t *testing.T) {
	t.Parallel()
	// A rate this low refills nothing during the test: exactly the burst passes.
	dial := serve(t, newHandler(t, ws.Limits{FrameRate: 0.001, FrameBurst: 3}))
	c, _, err := dial("ann")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// Refused frames count too: they are the cheapest flood there is. These
	// are refused before any handler runs.
	const n = 6
	for i := range n {
		frame := fmt.Sprintf(`{"type":"dance","id":"f%d"}`, i)
		if err := c.Write(ctx, websocket.MessageText, []byte(frame)); err != nil {
			t.Fatal(err)
		}
	}
	for i := range n {
		_, data, err := c.Read(ctx)
		if err != nil {
			t.Fatalf("answer %d: %v", i, err)
		}
		var got struct{ Type, ID, Code string }
		if err := json.Unmarshal(data, &got); err != nil {
			t.Fatal(err)
		}
		want := "bad_request"
		if i >= 3 {
			want = "rate_limited"
		}
		if got.Type != "error" || got.ID != fmt.Sprintf("f%d", i) || got.Code != want {
			t.Fatalf("answer %d = %s, want %s", i, data, want)
		}
	}
}
