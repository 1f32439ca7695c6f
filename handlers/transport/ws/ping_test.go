package ws_test

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	dto "github.com/prometheus/client_model/go"

	"github.com/tellyou/tellyou/handlers/metrics"
	"github.com/tellyou/tellyou/handlers/transport/auth"
	"github.com/tellyou/tellyou/handlers/transport/ws"
)

// TestUnansweredPingsDropTheConnection: a client that answers pings keeps its
// connection; one that stops reading (so it answers no pong, as a vanished
// peer) is dropped by the server.
func TestUnansweredPingsDropTheConnection(t *testing.T) {
	t.Parallel()
	m := metrics.New()
	h := newHandlerWithMetrics(t, ws.Limits{PingInterval: 50 * time.Millisecond, PingTimeout: time.Second}, m)
	connected := func() float64 {
		var g dto.Metric
		if err := m.ConnectedClients.Write(&g); err != nil {
			t.Fatal(err)
		}
		return g.GetGauge().GetValue()
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	dial := func(user string) *websocket.Conn {
		tok, err := auth.Mint(secret, auth.Principal{UserID: user}, time.Now(), time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		c, _, err := websocket.Dial(ctx, strings.Replace(srv.URL, "http", "ws", 1)+"/v1/ws?token="+tok, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.CloseNow() })
		return c
	}

	// The reading client answers pings through many intervals and stays.
	alive := dial("ann")
	readCtx, stopReading := context.WithCancel(context.Background())
	readErr := make(chan error, 1)
	go func() {
		_, _, err := alive.Read(readCtx)
		readErr <- err
	}()

	// The silent client never reads, so its pongs never go out.
	silent := dial("bob")
	deadline := time.Now().Add(30 * time.Second)
	waitFor := func(want float64) {
		t.Helper()
		for connected() != want {
			if time.Now().After(deadline) {
				t.Fatalf("%v connections open after 30s, want %v", connected(), want)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	waitFor(2) // both registered
	for connected() != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("%v connections open after 30s; want only the one that answers pings", connected())
		}
		time.Sleep(10 * time.Millisecond)
	}
	select {
	case err := <-readErr:
		t.Fatalf("the client that answers pings was dropped: %v", err)
	default:
	}
	// The server closed its side: the silent client's next read fails.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, _, err := silent.Read(ctx); err == nil || ctx.Err() != nil {
		t.Fatalf("silent client's read after the drop = %v", err)
	}

	stopReading()
	<-readErr
}
