package gateway_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/tellyou/tellyou/handlers/command"
	"github.com/tellyou/tellyou/handlers/delivery"
	"github.com/tellyou/tellyou/handlers/transport/ws"
)

// A burst of messages of 16 KiB goes to a group. bob and carl read: however
// far behind the burst puts them, they get every message and are never
// closed. eve reads nothing: she is closed with 1013, and what she got
// before the close is the start of the burst, in order. Two ways to be
// closed, one per case:
//   - stall: 1,000 messages (about 16.7 MB); her socket takes no bytes for
//     StallTimeout while frames wait, and the default byte bound (32 MiB)
//     is twice the burst;
//   - bytes: 400 messages (about 6.7 MB) and a byte bound of 8 MiB; what
//     waits for her passes it (she asks for sync answers on top of the
//     burst), while the stall timeout is far away.
//
// The byte bound is above the burst's bytes in both cases, so no reading
// client can ever pass it, whatever the relative speed of server and
// clients.
//
// Not parallel: it compares the process's goroutine count with its baseline,
// which other tests running at the same time would disturb.
func TestSlowClientIsClosedWithoutSlowingTheOthers(t *testing.T) {
	for _, tc := range []struct {
		name   string
		n      int
		limits ws.Limits
		// syncs: eve asks for sync answers until she is closed.
		syncs bool
	}{
		// The stall timeout leaves a reading client seconds to take a byte.
		{name: "stall", n: 1000, limits: ws.Limits{StallTimeout: 3 * time.Second}},
		// A stall timeout this long cannot be what closes eve.
		{name: "bytes", n: 400, limits: ws.Limits{StallTimeout: 10 * time.Minute, MaxQueueBytes: 8 << 20}, syncs: true},
	} {
		// No ping either: only the rule under test may close eve.
		tc.limits.PingInterval = 10 * time.Minute
		t.Run(tc.name, func(t *testing.T) { slowClientScenario(t, tc.n, tc.limits, tc.syncs) })
	}
}

func slowClientScenario(t *testing.T, n int, limits ws.Limits, syncs bool) {
	e := newEnv(t, envOptions{ws: limits, push: delivery.Options{RedeliveryTimeout: time.Hour}})
	g := e.group(t, "ann", "bob", "carl", "eve")
	baseline := runtime.NumGoroutine()

	closing := make(chan struct{}) // closed once the server closes a client as slow
	now := make(chan struct{})
	close(now)
	bob := startRawReader(e.dial(t, e.Token(t, "bob"), nil).conn, now)
	carl := startRawReader(e.dial(t, e.Token(t, "carl"), nil).conn, now)
	// eve reads nothing, through a bounded socket buffer: the server's writes
	// to her soon block and her queue grows. Once the server closes her, she
	// reads, so that the close frame gets through what the socket still
	// holds for her.
	eve := startRawReader(e.dial(t, e.Token(t, "eve"), &websocket.DialOptions{HTTPClient: smallBufferClient()}).conn, closing)
	go func() {
		defer close(closing)
		for deadline := time.Now().Add(wait); value(e.metrics.SlowClientsClosed) == 0 && time.Now().Before(deadline); {
			time.Sleep(time.Millisecond)
		}
	}()

	// 16 KiB per message: the bursts are far more than the kernel buffers
	// between the server and eve.
	burst(t, e, g, n, strings.Repeat("x", 16<<10))
	if syncs {
		// Sync answers queue behind the burst, for eve alone.
		e.CaughtUp(t)
		for i := 0; value(e.metrics.SlowClientsClosed) == 0; i++ {
			sync, _ := json.Marshal(map[string]any{"type": "sync", "id": fmt.Sprint("hoard-", i), "sessionId": g, "limit": 200})
			ctx, cancel := context.WithTimeout(context.Background(), wait)
			err := eve.conn.Write(ctx, websocket.MessageText, sync)
			cancel()
			if err != nil {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	for name, c := range map[string]*rawReader{"bob": bob, "carl": carl} {
		eventually(t, "messages to "+name, func() bool { return len(c.pushSeqs(t)) >= n })
		for i, seq := range c.pushSeqs(t) {
			if seq != int64(i+1) {
				t.Fatalf("%s: push %d has seq %d", name, i, seq)
			}
		}
	}

	// eve got what was on its way, in order, then the close.
	select {
	case <-eve.done:
	case <-time.After(wait):
		t.Fatalf("slow client still open after %v", wait)
	}
	if got := websocket.CloseStatus(eve.err); got != websocket.StatusTryAgainLater {
		t.Fatalf("slow client closed with %v (%v), want 1013", got, eve.err)
	}
	pushes := eve.pushSeqs(t)
	for i, seq := range pushes {
		if seq != int64(i+1) {
			t.Fatalf("slow client: push %d has seq %d", i, seq)
		}
	}
	if len(pushes) >= n {
		t.Fatalf("slow client got all %d messages: nothing was slow", len(pushes))
	}
	if v := value(e.metrics.SlowClientsClosed); v != 1 {
		t.Fatalf("SlowClientsClosed = %v", v)
	}
	t.Logf("slow client got %d of %d messages before its close", len(pushes), n)

	for name, c := range map[string]*rawReader{"bob": bob, "carl": carl} {
		select {
		case <-c.done:
			t.Fatalf("%s, who reads, was closed: %v", name, c.err)
		default:
		}
		_ = c.conn.Close(websocket.StatusNormalClosure, "")
		<-c.done
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
				_, err := e.Commands.Send.Handle(context.Background(), command.Send{
					Meta: command.RequestMeta{Actor: "ann"}, SessionID: sessionID, MessageType: 1, Content: content,
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

// rawReader keeps the frames a connection reads, undecoded, from the moment
// start is closed until the connection ends: a quick reader even under
// -race, where decoding thousands of 16 KiB frames as they come would slow
// everything down.
type rawReader struct {
	conn *websocket.Conn
	done chan struct{}
	err  error // why reading stopped, once done is closed

	mu     sync.Mutex
	frames [][]byte
}

func startRawReader(conn *websocket.Conn, start <-chan struct{}) *rawReader {
	r := &rawReader{conn: conn, done: make(chan struct{})}
	go func() {
		defer close(r.done)
		<-start
		for {
			_, data, err := conn.Read(context.Background())
			if err != nil {
				r.err = err
				return
			}
			r.mu.Lock()
			r.frames = append(r.frames, data)
			r.mu.Unlock()
		}
	}()
	return r
}

// pushSeqs returns the seqs of the message frames read so far, in the order
// they came, read from the frames' text: a message frame is
// {"type":"message","message":{... "seq":N, ...}}, and the test's contents
// are all x.
func (r *rawReader) pushSeqs(t *testing.T) []int64 {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	var seqs []int64
	for _, f := range r.frames {
		if !bytes.HasPrefix(f, []byte(`{"type":"message",`)) {
			continue
		}
		_, rest, ok := bytes.Cut(f, []byte(`"seq":`))
		end := bytes.IndexByte(rest, ',')
		if !ok || end < 0 {
			t.Fatalf("message frame without a seq: %.200s", f)
		}
		seq, err := strconv.ParseInt(string(rest[:end]), 10, 64)
		if err != nil {
			t.Fatalf("message frame %.200s: %v", f, err)
		}
		seqs = append(seqs, seq)
	}
	return seqs
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
