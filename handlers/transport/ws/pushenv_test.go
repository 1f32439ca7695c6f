package ws_test

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/tellyou/tellyou/handlers/command"
	"github.com/tellyou/tellyou/handlers/delivery"
	"github.com/tellyou/tellyou/handlers/metrics"
	"github.com/tellyou/tellyou/handlers/query"
	"github.com/tellyou/tellyou/handlers/transport/auth"
	"github.com/tellyou/tellyou/handlers/transport/ws"
)

// pushEnv is the handler with a push hub whose every session has the
// members given, fed by test publishes on an in-process bus (no database):
// for tests of what the connections do with many pushes.
type pushEnv struct {
	h       *ws.Handler
	m       *metrics.Metrics
	hub     *delivery.Hub
	url     string
	session string
}

func newPushEnv(t *testing.T, limits ws.Limits, members ...string) *pushEnv {
	t.Helper()
	m := metrics.New()
	logger := slog.New(slog.DiscardHandler)
	hub, err := delivery.New(delivery.Config{Metrics: m, Logger: logger,
		Options: delivery.Options{RedeliveryTimeout: time.Hour},
		Members: membersFunc(func(context.Context, string) ([]string, error) { return append([]string{"ann"}, members...), nil })})
	if err != nil {
		t.Fatal(err)
	}
	h, err := ws.New(ws.Config{Commands: &command.Commands{}, Queries: &query.Queries{}, Hub: hub, Secret: secret,
		Metrics: m, Logger: logger, Limits: limits})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	hubDone := make(chan error, 1)
	go func() { hubDone <- hub.Run(ctx) }()
	<-hub.Ready()
	srv := httptest.NewServer(h)
	t.Cleanup(func() {
		sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer scancel()
		if err := h.Shutdown(sctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		srv.Close()
		cancel()
		if err := <-hubDone; err != nil {
			t.Errorf("hub: %v", err)
		}
	})
	return &pushEnv{h: h, m: m, hub: hub, url: "ws" + strings.TrimPrefix(srv.URL, "http") + "/v1/ws?token=",
		session: "g:6f1c4c9e-2b7a-4d0e-9a51-3c8e2f1d7b60"}
}

// dial connects as user with a receive buffer of readBuffer bytes, and
// waits until the server has registered the connection.
func (e *pushEnv) dial(t *testing.T, user string, readBuffer int) *websocket.Conn {
	t.Helper()
	before := connectedClients(t, e.m)
	c := e.dialOnly(t, user, readBuffer)
	for deadline := time.Now().Add(10 * time.Second); connectedClients(t, e.m) == before; {
		if time.Now().After(deadline) {
			t.Fatal("the connection was not registered")
		}
		time.Sleep(time.Millisecond)
	}
	return c
}

// dialOnly connects as user with a receive buffer of readBuffer bytes and
// returns as soon as the upgrade is answered.
func (e *pushEnv) dialOnly(t *testing.T, user string, readBuffer int) *websocket.Conn {
	t.Helper()
	dialer := &net.Dialer{}
	client := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := dialer.DialContext(ctx, network, addr)
		if err == nil {
			err = c.(*net.TCPConn).SetReadBuffer(readBuffer)
		}
		return c, err
	}}}
	tok, err := auth.Mint(secret, auth.Principal{UserID: user}, time.Now(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, e.url+tok, &websocket.DialOptions{HTTPClient: client})
	if err != nil {
		t.Fatal(err)
	}
	c.SetReadLimit(1 << 20)
	t.Cleanup(func() { _ = c.CloseNow() })
	return c
}

// push hands message seq of the session from ann to the hub, as the fast
// path does, and returns once the hub has handed it to the connections.
func (e *pushEnv) push(t testing.TB, seq int64, content string) {
	t.Helper()
	e.hub.Committed(committedMessage(t, e.session, seq, content))
	if err := e.hub.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
}
