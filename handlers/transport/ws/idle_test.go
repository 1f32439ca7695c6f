package ws_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
	dto "github.com/prometheus/client_model/go"

	"github.com/tellyou/tellyou/handlers/metrics"
	"github.com/tellyou/tellyou/handlers/transport/auth"
	"github.com/tellyou/tellyou/handlers/transport/ws"
)

// connectedClients reads the gauge of open connections.
func connectedClients(t *testing.T, m *metrics.Metrics) int {
	t.Helper()
	var g dto.Metric
	if err := m.ConnectedClients.Write(&g); err != nil {
		t.Fatal(err)
	}
	return int(g.GetGauge().GetValue())
}

// serverGoroutines counts this process's goroutines running the package's
// code, by the package function nearest the top of their stack.
func serverGoroutines() map[string]int {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	counts := map[string]int{}
	for _, g := range strings.Split(string(buf), "\n\n") {
		for _, line := range strings.Split(g, "\n") {
			if i := strings.Index(line, "tellyou/handlers/transport/ws."); i >= 0 {
				// ws.(*conn).readNext(0xc000123456) → (*conn).readNext
				fn := line[i+len("tellyou/handlers/transport/ws."):]
				if j := strings.LastIndex(fn, "("); j > 0 {
					fn = fn[:j]
				}
				if strings.HasPrefix(fn, "Test") {
					break // a test of the package's own, waiting to run
				}
				counts[fn]++
				break
			}
		}
	}
	return counts
}

// TestAnIdleConnectionHoldsNoGoroutine: an open connection with nothing to
// read or write and no ping in flight is parked with the handler's idle
// poller: no goroutine of its own. One poller goroutine and one ping
// scheduler serve them all. Not parallel: it counts the process's goroutines.
func TestAnIdleConnectionHoldsNoGoroutine(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("parking needs epoll: elsewhere an idle connection keeps its reader")
	}
	m := metrics.New()
	h := newHandlerWithMetrics(t, ws.Limits{FrameRate: 1000, FrameBurst: 1000}, m)
	dial := serve(t, h)
	const n = 40
	clients := make([]*websocket.Conn, n)
	for i := range clients {
		c, _, err := dial(fmt.Sprintf("user%d", i))
		if err != nil {
			t.Fatal(err)
		}
		clients[i] = c
	}
	// Every connection answers a frame, so each has had a reader and a
	// writer.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for i, c := range clients {
		if err := c.Write(ctx, websocket.MessageText, []byte(`{"type":"dance","id":"d1"}`)); err != nil {
			t.Fatal(err)
		}
		if _, data, err := c.Read(ctx); err != nil || !strings.Contains(string(data), `"bad_request"`) {
			t.Fatalf("client %d: answer %s, %v", i, data, err)
		}
	}
	if got := connectedClients(t, m); got != n {
		t.Fatalf("%d connections open, want %d", got, n)
	}

	deadline := time.Now().Add(20 * time.Second)
	var counts map[string]int
	for {
		counts = serverGoroutines()
		others := 0
		for fn, k := range counts {
			if fn != "(*idlePoller).run" && fn != "(*pingSchedule).run" {
				others += k
			}
		}
		if counts["(*idlePoller).run"] == 1 && counts["(*pingSchedule).run"] == 1 && others == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("goroutines of %d idle connections: %v; want the idle poller and the ping scheduler only", n, counts)
		}
		time.Sleep(10 * time.Millisecond)
	}

	// Parked connections still answer: every client's next frame wakes its
	// reader.
	for i, c := range clients {
		if err := c.Write(ctx, websocket.MessageText, []byte(`{"type":"dance","id":"d2"}`)); err != nil {
			t.Fatal(err)
		}
		if _, data, err := c.Read(ctx); err != nil || !strings.Contains(string(data), `"d2"`) {
			t.Fatalf("client %d after parking: answer %s, %v", i, data, err)
		}
	}
}

// TestAnswersKeepTheOrderOfTheFramesWhileTheWriterComesAndGoes: bursts of
// frames, with pauses in which the writer drains the queue and stops, are
// answered in the order they were sent.
func TestAnswersKeepTheOrderOfTheFramesWhileTheWriterComesAndGoes(t *testing.T) {
	t.Parallel()
	dial := serve(t, newHandler(t, ws.Limits{FrameRate: 1e6, FrameBurst: 1e6}))
	c, _, err := dial("ann")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	const bursts, perBurst = 20, 25
	readErr := make(chan error, 1)
	go func() {
		for i := range bursts * perBurst {
			_, data, err := c.Read(ctx)
			if err != nil {
				readErr <- fmt.Errorf("answer %d: %w", i, err)
				return
			}
			var got struct{ ID string }
			if err := json.Unmarshal(data, &got); err != nil || got.ID != fmt.Sprintf("f%d", i) {
				readErr <- fmt.Errorf("answer %d = %s, want id f%d", i, data, i)
				return
			}
		}
		readErr <- nil
	}()
	for b := range bursts {
		for i := range perBurst {
			frame := fmt.Sprintf(`{"type":"dance","id":"f%d"}`, b*perBurst+i)
			if err := c.Write(ctx, websocket.MessageText, []byte(frame)); err != nil {
				t.Fatal(err)
			}
		}
		time.Sleep(time.Duration(b%3) * time.Millisecond)
	}
	if err := <-readErr; err != nil {
		t.Fatal(err)
	}
}

// TestFramesSentWithTheUpgradeRequestAreRead: a client that sends a frame in
// the same packet as its upgrade request, before the 101, gets it answered.
func TestFramesSentWithTheUpgradeRequestAreRead(t *testing.T) {
	t.Parallel()
	h := newHandler(t, ws.Limits{})
	srv := httptest.NewServer(h)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = h.Shutdown(ctx)
		srv.Close()
	})
	tok, err := auth.Mint(secret, auth.Principal{UserID: "ann"}, time.Now(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	nc, err := net.Dial("tcp", strings.TrimPrefix(srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	_ = nc.SetDeadline(time.Now().Add(20 * time.Second))

	var req bytes.Buffer
	fmt.Fprintf(&req, "GET /v1/ws?token=%s HTTP/1.1\r\nHost: test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n", tok)
	// Two frames, the second one larger than the server's read buffer.
	first := `{"type":"dance","id":"early"}`
	second := `{"type":"dance","id":"late","pad":"` + strings.Repeat("p", 600) + `"}`
	req.Write(maskedTextFrame(first))
	req.Write(maskedTextFrame(second))
	if _, err := nc.Write(req.Bytes()); err != nil {
		t.Fatal(err)
	}

	br := bufio.NewReader(nc)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("upgrade answered %s", resp.Status)
	}
	for _, want := range []string{"early", "late"} {
		var hdr [2]byte
		if _, err := io.ReadFull(br, hdr[:]); err != nil {
			t.Fatalf("answer to %s: %v", want, err)
		}
		n := int(hdr[1] & 0x7f)
		if n == 126 {
			var ext [2]byte
			if _, err := io.ReadFull(br, ext[:]); err != nil {
				t.Fatal(err)
			}
			n = int(binary.BigEndian.Uint16(ext[:]))
		}
		payload := make([]byte, n)
		if _, err := io.ReadFull(br, payload); err != nil {
			t.Fatal(err)
		}
		var got struct{ Type, ID, Code string }
		if err := json.Unmarshal(payload, &got); err != nil || hdr[0] != 0x81 || got.ID != want || got.Code != "bad_request" {
			t.Fatalf("answer to %s: opcode byte %#x, %s", want, hdr[0], payload)
		}
	}
}

// maskedTextFrame is a client's final text frame carrying payload.
func maskedTextFrame(payload string) []byte {
	key := [4]byte{0x12, 0x34, 0x56, 0x78}
	f := []byte{0x81}
	if n := len(payload); n <= 125 {
		f = append(f, 0x80|byte(n))
	} else {
		f = append(f, 0x80|126)
		f = binary.BigEndian.AppendUint16(f, uint16(n))
	}
	f = append(f, key[:]...)
	for i := range len(payload) {
		f = append(f, payload[i]^key[i%4])
	}
	return f
}

// TestOneSchedulerPingsManyConnections: with short intervals, every client
// that answers is pinged again and again and stays; every client that stops
// reading is dropped.
func TestOneSchedulerPingsManyConnections(t *testing.T) {
	t.Parallel()
	m := metrics.New()
	h := newHandlerWithMetrics(t, ws.Limits{PingInterval: 40 * time.Millisecond, PingTimeout: 500 * time.Millisecond}, m)
	srv := httptest.NewServer(h)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := h.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		srv.Close()
	})
	const answering, silent = 10, 10
	pings := make([]atomic.Int64, answering)
	dial := func(user string, onPing func(context.Context, []byte) bool) *websocket.Conn {
		tok, err := auth.Mint(secret, auth.Principal{UserID: user}, time.Now(), time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http")+"/v1/ws?token="+tok,
			&websocket.DialOptions{OnPingReceived: onPing})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.CloseNow() })
		return c
	}
	readCtx, stopReading := context.WithCancel(context.Background())
	var readers sync.WaitGroup
	dropped := make(chan string, answering)
	for i := range answering {
		c := dial(fmt.Sprintf("answers%d", i), func(context.Context, []byte) bool {
			pings[i].Add(1)
			return true
		})
		readers.Go(func() {
			if _, _, err := c.Read(readCtx); readCtx.Err() == nil {
				dropped <- fmt.Sprintf("answering client %d: %v", i, err)
			}
		})
	}
	defer func() {
		stopReading()
		readers.Wait()
	}()
	silentConns := make([]*websocket.Conn, silent)
	for i := range silentConns {
		silentConns[i] = dial(fmt.Sprintf("silent%d", i), nil)
	}

	deadline := time.Now().Add(30 * time.Second)
	for {
		enough := true
		for i := range pings {
			enough = enough && pings[i].Load() >= 5
		}
		if enough && connectedClients(t, m) == answering {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 30s: %d connections open, want %d; pings of the answering clients %v",
				connectedClients(t, m), answering, loadAll(pings))
		}
		time.Sleep(10 * time.Millisecond)
	}
	select {
	case msg := <-dropped:
		t.Fatal(msg)
	default:
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for i, c := range silentConns {
		if _, _, err := c.Read(ctx); err == nil || ctx.Err() != nil {
			t.Fatalf("silent client %d's read after the drop = %v", i, err)
		}
	}
}

func loadAll(v []atomic.Int64) []int64 {
	out := make([]int64, len(v))
	for i := range v {
		out[i] = v[i].Load()
	}
	return out
}
