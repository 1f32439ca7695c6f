package ws_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/tellyou/tellyou/handlers/delivery/deliverytest"
	"github.com/tellyou/tellyou/handlers/handlerstest"
	"github.com/tellyou/tellyou/handlers/metrics"
	"github.com/tellyou/tellyou/handlers/transport/ws"
)

// liveEnv is the WebSocket handler on a loopback server over the real engine:
// PostgreSQL event store, projections, command handlers and queries, and the
// push hub following the log. Its logger writes JSON lines, down to debug.
type liveEnv struct {
	*handlerstest.Engine
	url  string
	logs *syncBuffer
}

func newLiveEnv(t *testing.T, limits ws.Limits) *liveEnv {
	t.Helper()
	e := handlerstest.New(t, handlerstest.Options{RealClock: true})
	logs := &syncBuffer{}
	logger := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	m := metrics.New()
	hub := deliverytest.Run(t, deliverytest.Config{Store: e.Store, Members: e.Queries, Metrics: m, Logger: logger, Opener: e.Sealer})
	e.FastPath.Set(hub.Committed)
	h, err := ws.New(ws.Config{Commands: e.Commands, Queries: e.Queries, Hub: hub, Secret: e.Secret,
		Metrics: m, Logger: logger, Limits: limits})
	if err != nil {
		t.Fatal(err)
	}

	srv := httptest.NewServer(h)
	t.Cleanup(func() {
		sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer scancel()
		if err := h.Shutdown(sctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		srv.Close()
	})
	return &liveEnv{Engine: e, url: "ws" + strings.TrimPrefix(srv.URL, "http") + "/v1/ws?token=", logs: logs}
}

// client is one test connection, counting the bytes that cross the wire in
// each direction after the handshake.
type client struct {
	t    *testing.T
	c    *websocket.Conn
	resp *http.Response
	read *atomic.Int64
}

// dial connects as user, offering permessage-deflate when deflate is set.
func (e *liveEnv) dial(t *testing.T, user string, deflate bool) *client {
	t.Helper()
	read := &atomic.Int64{}
	dialer := &net.Dialer{}
	transport := &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		nc, err := dialer.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return &countingConn{Conn: nc, read: read}, nil
	}}
	opts := &websocket.DialOptions{HTTPClient: &http.Client{Transport: transport}}
	if deflate {
		opts.CompressionMode = websocket.CompressionNoContextTakeover
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, resp, err := websocket.Dial(ctx, e.url+e.Token(t, user), opts)
	if err != nil {
		t.Fatalf("%s dials: %v", user, err)
	}
	c.SetReadLimit(1 << 20)
	// Registered after the server's cleanup, so it runs first.
	t.Cleanup(func() { _ = c.CloseNow() })
	read.Store(0) // the handshake's bytes do not count
	return &client{t: t, c: c, resp: resp, read: read}
}

func (c *client) send(frame string) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.c.Write(ctx, websocket.MessageText, []byte(frame)); err != nil {
		c.t.Fatalf("write %.80s: %v", frame, err)
	}
}

// next reads frames until one of type typ, and decodes it into v.
func (c *client) next(typ string, v any) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for {
		_, data, err := c.c.Read(ctx)
		if err != nil {
			c.t.Fatalf("waiting for a %s frame: %v", typ, err)
		}
		var head struct{ Type string }
		if err := json.Unmarshal(data, &head); err != nil {
			c.t.Fatalf("frame %.200s: %v", data, err)
		}
		if head.Type == typ {
			if err := json.Unmarshal(data, v); err != nil {
				c.t.Fatalf("%s frame %.200s: %v", typ, data, err)
			}
			return
		}
	}
}

type countingConn struct {
	net.Conn
	read *atomic.Int64
}

func (c *countingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.read.Add(int64(n))
	return n, err
}

// syncBuffer is a buffer that a logger and a test may use at once.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// lines decodes the JSON log lines written so far.
func (b *syncBuffer) lines(t *testing.T) []map[string]any {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []map[string]any
	for _, line := range bytes.Split(bytes.TrimSpace(b.buf.Bytes()), []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal(line, &m); err != nil {
			t.Fatalf("log line %s: %v", line, err)
		}
		out = append(out, m)
	}
	return out
}
