package ws_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/tellyou/tellyou/handlers/transport/auth"
	"github.com/tellyou/tellyou/handlers/transport/ws"
)

// TestATokenFarFromExpiryStillClosesTheConnectionWhenItExpires: a token
// whose expiry is further off than the next ping gets its timer from a
// later ping, and the connection is closed with 1008 when it expires, not
// before.
func TestATokenFarFromExpiryStillClosesTheConnectionWhenItExpires(t *testing.T) {
	t.Parallel()
	h := newHandler(t, ws.Limits{PingInterval: 100 * time.Millisecond, PingTimeout: 200 * time.Millisecond})
	srv := httptest.NewServer(h)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := h.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		srv.Close()
	})
	// exp has second precision: three seconds leave two at least, far more
	// than a ping interval and timeout.
	tok, err := auth.Mint(secret, auth.Principal{UserID: "ann"}, time.Now(), 3*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	p, err := auth.Verify(secret, tok, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http")+"/v1/ws?token="+tok, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	_, _, err = c.Read(ctx) // answers the pings until the close
	var ce websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != websocket.StatusPolicyViolation || ce.Reason != "token expired" {
		t.Fatalf("read ended with %v, want 1008 token expired", err)
	}
	if now := time.Now(); now.Before(p.ExpiresAt) {
		t.Fatalf("closed %v before the token expired", p.ExpiresAt.Sub(now))
	}
}
