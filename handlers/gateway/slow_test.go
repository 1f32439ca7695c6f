package gateway_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/tellyou/tellyou/handlers/delivery"
	"github.com/tellyou/tellyou/handlers/ws"
)

// Not parallel: it compares the process's goroutine count with its baseline,
// which other tests running at the same time would disturb.
func TestSlowClientIsClosedWithoutSlowingTheOthers(t *testing.T) {
	const n = 1000
	const queue = 64
	e := newEnv(t, envOptions{
		// A write timeout this long cannot be what closes the slow client.
		ws:   ws.Limits{QueueSize: queue, WriteTimeout: 10 * time.Minute},
		push: delivery.Options{RedeliveryTimeout: time.Hour},
	})
	g := e.group(t, "ann", "bob", "carl", "eve")
	baseline := runtime.NumGoroutine()

	bob, carl := e.connect(t, "bob"), e.connect(t, "carl")
	// eve reads nothing, through a bounded socket buffer: the server's writes
	// to her soon block and her queue fills.
	slow := e.dial(t, e.Token(t, "eve"), &websocket.DialOptions{HTTPClient: smallBufferClient()})

	// 16 KiB per message: 1,000 of them are far more than the kernel buffers
	// between the server and eve.
	content := strings.Repeat("x", 16<<10)
	for i := 1; i <= n; i++ {
		e.sendCmd(t, "ann", g, content, fmt.Sprint(i))
	}
	for name, c := range map[string]*client{"bob": bob, "carl": carl} {
		got := c.awaitCount("messages to "+name, n, isType("message"))
		for i, f := range got {
			if f.msg().Seq != int64(i+1) {
				t.Fatalf("%s: push %d has seq %d", name, i, f.msg().Seq)
			}
		}
	}

	// eve gets what was buffered, in order, then the close.
	slow.startReading()
	if got := slow.closed(); got != websocket.StatusTryAgainLater {
		t.Fatalf("slow client closed with %v (%v), want 1013", got, slow.err)
	}
	got := slow.matching(isType("message"))
	if len(got) >= n {
		t.Fatalf("slow client got all %d messages: nothing was slow", len(got))
	}
	for i, f := range got {
		if f.msg().Seq != int64(i+1) {
			t.Fatalf("slow client: push %d has seq %d", i, f.msg().Seq)
		}
	}
	if v := value(e.metrics.SlowClientsClosed); v != 1 {
		t.Fatalf("SlowClientsClosed = %v", v)
	}
	t.Logf("slow client got %d of %d messages before its close", len(got), n)

	for _, c := range []*client{bob, carl} {
		_ = c.conn.Close(websocket.StatusNormalClosure, "")
		c.closed()
	}
	eventually(t, "no connection left", func() bool { return value(e.metrics.ConnectedClients) == 0 })
	// Every goroutine the connections started has ended: nothing was left
	// blocked on the slow client.
	eventually(t, "goroutines back to the baseline", func() bool { return runtime.NumGoroutine() <= baseline })
}

// smallBufferClient dials with a fixed 256 KiB socket receive buffer, where
// the kernel would otherwise let it grow to many megabytes. (Much smaller
// than the loopback's segment size, it would make TCP crawl.)
func smallBufferClient() *http.Client {
	dialer := &net.Dialer{}
	return &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := dialer.DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			if tc, ok := c.(*net.TCPConn); ok {
				if err := tc.SetReadBuffer(256 << 10); err != nil {
					c.Close()
					return nil, err
				}
			}
			return c, nil
		},
	}}
}
