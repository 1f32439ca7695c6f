package gateway_test

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/tellyou/tellyou/domain"
	"github.com/tellyou/tellyou/events"
	"github.com/tellyou/tellyou/handlers/command"
	"github.com/tellyou/tellyou/handlers/delivery"
	"github.com/tellyou/tellyou/handlers/handlerstest"
	"github.com/tellyou/tellyou/handlers/metrics"
	"github.com/tellyou/tellyou/handlers/transport/gateway"
	"github.com/tellyou/tellyou/handlers/transport/ws"
)

// wait bounds every wait of these tests: long enough never to fail a slow
// but correct run, short enough to fail instead of hang.
const wait = 60 * time.Second

// env is an engine on a fresh database with a running gateway in front of it.
type env struct {
	*handlerstest.Engine
	gw      *gateway.Gateway
	srv     *httptest.Server
	metrics *metrics.Metrics
}

type envOptions struct {
	ws   ws.Limits
	push delivery.Options
	// noFastPath leaves delivery to the follower of the log alone.
	noFastPath bool
	admission  command.AdmissionConfig
}

func newEnv(t *testing.T, opts envOptions) *env {
	t.Helper()
	eng := handlerstest.New(t, handlerstest.Options{Admission: opts.admission})
	m := metrics.New()
	gw, err := gateway.New(gateway.Config{
		Commands: eng.Commands, Queries: eng.Queries, Store: eng.Store, Secret: eng.Secret, Metrics: m, Opener: eng.Sealer,
		Logger: slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn})),
		WS:     opts.ws, Push: opts.push,
	})
	if err != nil {
		t.Fatal(err)
	}
	if !opts.noFastPath {
		eng.FastPath.Set(gw.Committed)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- gw.Run(ctx) }()
	select {
	case <-gw.Ready():
	case err := <-done:
		t.Fatalf("gateway stopped before it was ready: %v", err)
	case <-time.After(wait):
		t.Fatal("gateway not ready")
	}
	srv := httptest.NewServer(gw.Handler())
	t.Cleanup(func() {
		sctx, scancel := context.WithTimeout(context.Background(), wait)
		defer scancel()
		if err := gw.Shutdown(sctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		srv.Close()
		cancel()
		if err := <-done; err != nil {
			t.Errorf("gateway run: %v", err)
		}
	})
	return &env{Engine: eng, gw: gw, srv: srv, metrics: m}
}

func (e *env) wsURL() string { return "ws" + strings.TrimPrefix(e.srv.URL, "http") + "/v1/ws" }

// connect opens a connection for user and starts reading its frames.
func (e *env) connect(t *testing.T, user string) *client {
	t.Helper()
	return e.connectToken(t, e.Token(t, user))
}

func (e *env) connectToken(t *testing.T, token string) *client {
	t.Helper()
	c := e.dial(t, token, nil)
	c.startReading()
	return c
}

func (e *env) dial(t *testing.T, token string, opts *websocket.DialOptions) *client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	conn, resp, err := websocket.Dial(ctx, e.wsURL()+"?token="+token, opts)
	if err != nil {
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		t.Fatalf("dial: %v (status %d)", err, status)
	}
	conn.SetReadLimit(1 << 20)
	c := &client{t: t, conn: conn, notify: make(chan struct{}, 1), done: make(chan struct{})}
	t.Cleanup(func() { _ = conn.CloseNow() })
	return c
}

// send builds a send frame.
func send(id, sessionID, content string) map[string]any {
	return map[string]any{"type": "send", "id": id, "sessionId": sessionID, "messageType": 1, "content": content,
		"clientMessageId": "c-" + id, "clientTimestamp": time.Now().UnixMilli()}
}

// sendCmd appends a message through the command handlers, as another
// node's client would.
func (e *env) sendCmd(t *testing.T, from, sessionID, content, clientID string) command.SendAck {
	t.Helper()
	cmd := command.Send{Meta: command.RequestMeta{Actor: from}, SessionID: sessionID, MessageType: 1, Content: content,
		ClientMessageID: clientID, ClientTimestamp: time.Now().UnixMilli()}
	if peer, ok := domain.DirectPeer(sessionID, from); ok {
		cmd.SessionID, cmd.ToUserID = "", peer // creates the session on the first message
	}
	ack, err := e.Commands.Send.Handle(context.Background(), cmd)
	if err != nil {
		t.Fatalf("%s sends to %s: %v", from, sessionID, err)
	}
	return ack
}

func (e *env) group(t *testing.T, owner string, members ...string) string {
	t.Helper()
	s, err := e.Commands.CreateGroup.Handle(context.Background(), command.CreateGroup{
		Meta: command.RequestMeta{Actor: owner}, Title: "team", Members: members})
	if err != nil {
		t.Fatal(err)
	}
	return s.ID
}

// stream reads a session's whole stream, its sealed content opened.
func (e *env) stream(t *testing.T, sessionID string) []events.Envelope {
	t.Helper()
	recs, err := e.Store.ReadStream(context.Background(), sessionID, 1, 100000)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]events.Envelope, 0, len(recs))
	for _, r := range recs {
		env, err := events.Decode(r)
		if err != nil {
			t.Fatal(err)
		}
		if env.Payload, err = e.Sealer.Open(context.Background(), env.Payload); err != nil {
			t.Fatal(err)
		}
		out = append(out, env)
	}
	return out
}

// eventually polls cond until it holds.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: still false after %v", what, wait)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// value reads a counter or gauge.
func value(m prometheus.Metric) float64 {
	var d dto.Metric
	if err := m.Write(&d); err != nil {
		panic(err)
	}
	if d.Gauge != nil {
		return d.Gauge.GetValue()
	}
	return d.Counter.GetValue()
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}
