package gateway_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/tellyou/tellyou/handlers"
	"github.com/tellyou/tellyou/handlers/push"
	"github.com/tellyou/tellyou/handlers/ws"
)

// A burst of 1,000 messages of 16 KiB goes to a group. bob and carl read:
// however far behind the burst puts them, they get every message and are
// never closed. eve reads nothing: she is closed with 1013, and what she got
// before the close is the start of the burst, in order. Two ways to be
// closed, one per case:
//   - stall: her socket takes no bytes for StallTimeout while frames wait;
//   - bytes: what waits for her passes MaxQueueBytes (she asks for sync
//     answers on top of the burst), while the stall timeout is far away.
//
// MaxQueueBytes is above the burst's bytes in both cases, so no reading
// client can ever pass it, whatever the relative speed of server and
// clients.
//
// Not parallel: it compares the process's goroutine count with its baseline,
// which other tests running at the same time would disturb.
func TestSlowClientIsClosedWithoutSlowingTheOthers(t *testing.T) {
	for _, tc := range []struct {
		name   string
		limits ws.Limits
		// syncs: eve asks for sync answers until she is closed.
		syncs bool
	}{
		// The stall timeout leaves a reading client seconds to take a byte;
		// the default byte bound (32 MiB) is twice the burst.
		{name: "stall", limits: ws.Limits{StallTimeout: 3 * time.Second}},
		// A stall timeout this long cannot be what closes eve; the byte
		// bound is just above the burst (1,000 frames of about 16.7 KB).
		{name: "bytes", limits: ws.Limits{StallTimeout: 10 * time.Minute, MaxQueueBytes: 18 << 20}, syncs: true},
	} {
		// No ping either: only the rule under test may close eve.
		tc.limits.PingInterval = 10 * time.Minute
		t.Run(tc.name, func(t *testing.T) { slowClientScenario(t, tc.limits, tc.syncs) })
	}
}

func slowClientScenario(t *testing.T, limits ws.Limits, syncs bool) {
	const n = 1000
	e := newEnv(t, envOptions{ws: limits, push: push.Options{RedeliveryTimeout: time.Hour}})
	g := e.group(t, "ann", "bob", "carl", "eve")
	baseline := runtime.NumGoroutine()

	bob, carl := e.connect(t, "bob"), e.connect(t, "carl")
	// eve reads nothing, through a bounded socket buffer: the server's writes
	// to her soon block and her queue grows. Once the server closes her, she
	// reads (raw frames, decoded later: a quick reader even under -race), so
	// that the close frame gets through what the socket still holds for her.
	slow := e.dial(t, e.Token(t, "eve"), &websocket.DialOptions{HTTPClient: smallBufferClient()})
	var eveFrames [][]byte
	var eveErr error
	eveDone := make(chan struct{})
	go func() {
		defer close(eveDone)
		for deadline := time.Now().Add(wait); value(e.metrics.SlowClientsClosed) == 0 && time.Now().Before(deadline); {
			time.Sleep(time.Millisecond)
		}
		for {
			_, data, err := slow.conn.Read(context.Background())
			if err != nil {
				eveErr = err
				return
			}
			eveFrames = append(eveFrames, data)
		}
	}()

	// 16 KiB per message: 1,000 of them are far more than the kernel buffers
	// between the server and eve.
	burst(t, e, g, n, strings.Repeat("x", 16<<10))
	if syncs {
		// Sync answers queue behind the burst, for eve alone.
		e.CaughtUp(t)
		for i := 0; value(e.metrics.SlowClientsClosed) == 0; i++ {
			if !slow.tryWrite(map[string]any{"type": "sync", "id": fmt.Sprint("hoard-", i), "sessionId": g, "limit": 100}) {
				break
			}
			for deadline := time.Now().Add(2 * time.Second); value(e.metrics.SlowClientsClosed) == 0 && time.Now().Before(deadline); {
				time.Sleep(time.Millisecond)
			}
		}
	}
	for name, c := range map[string]*client{"bob": bob, "carl": carl} {
		got := c.awaitCount("messages to "+name, n, isType("message"))
		for i, f := range got {
			if f.msg().Seq != int64(i+1) {
				t.Fatalf("%s: push %d has seq %d", name, i, f.msg().Seq)
			}
		}
	}

	// eve got what was on its way, in order, then the close.
	select {
	case <-eveDone:
	case <-time.After(wait):
		t.Fatalf("slow client still open after %v", wait)
	}
	if got := websocket.CloseStatus(eveErr); got != websocket.StatusTryAgainLater {
		t.Fatalf("slow client closed with %v (%v), want 1013", got, eveErr)
	}
	var pushes int
	for _, data := range eveFrames {
		var f frame
		if err := json.Unmarshal(data, &f); err != nil {
			t.Fatalf("slow client: frame %.100s: %v", data, err)
		}
		if f.Type != "message" {
			continue
		}
		if pushes++; f.msg().Seq != int64(pushes) {
			t.Fatalf("slow client: push %d has seq %d", pushes, f.msg().Seq)
		}
	}
	if pushes >= n {
		t.Fatalf("slow client got all %d messages: nothing was slow", pushes)
	}
	if v := value(e.metrics.SlowClientsClosed); v != 1 {
		t.Fatalf("SlowClientsClosed = %v", v)
	}
	t.Logf("slow client got %d of %d messages before its close", pushes, n)

	for name, c := range map[string]*client{"bob": bob, "carl": carl} {
		select {
		case <-c.done:
			t.Fatalf("%s, who reads, was closed: %v", name, c.err)
		default:
		}
		_ = c.conn.Close(websocket.StatusNormalClosure, "")
		c.closed()
	}
	eventually(t, "no connection left", func() bool { return value(e.metrics.ConnectedClients) == 0 })
	// Every goroutine the connections started has ended: nothing was left
	// blocked on the slow client.
	eventually(t, "goroutines back to the baseline", func() bool { return runtime.NumGoroutine() <= baseline })
}

// burst has ann send n messages to the session as fast as the server takes
// them: from four senders at once, whose sends to the one session the
// server appends together. The log gives them seqs 1 to n.
func burst(t *testing.T, e *env, sessionID string, n int, content string) {
	t.Helper()
	const senders = 4
	errs := make(chan error, senders)
	var wg sync.WaitGroup
	for s := range senders {
		wg.Go(func() {
			for i := s; i < n; i += senders {
				_, err := e.Commands.Send.Handle(context.Background(), handlers.Send{
					Meta: handlers.RequestMeta{Actor: "ann"}, SessionID: sessionID, MessageType: 1, Content: content,
					ClientMessageID: fmt.Sprint("burst-", i), ClientTimestamp: time.Now().UnixMilli()})
				if err != nil {
					errs <- fmt.Errorf("send %d: %w", i, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

// tryWrite sends a frame and reports whether the connection took it; it
// fails no test: the server may close the connection at any moment.
func (c *client) tryWrite(v map[string]any) bool {
	data, err := json.Marshal(v)
	if err != nil {
		c.t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	return c.conn.Write(ctx, websocket.MessageText, data) == nil
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
