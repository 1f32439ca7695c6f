package gateway_test

import (
	"context"
	"encoding/base64"
	"log"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/tellyou/tellyou/handlers/handlerstest"
	"github.com/tellyou/tellyou/handlers/metrics"
	"github.com/tellyou/tellyou/handlers/transport/gateway"
	"github.com/tellyou/tellyou/handlers/transport/httpapi"
	"github.com/tellyou/tellyou/handlers/transport/ws"
)

// newGuardedEnv is newEnv with the HTTP API behind the gateway, as serve
// runs them, and every log line of the server watched: one that mentions a
// panic (the API's recovered panics, net/http's "http: panic serving") fails
// the test. A panic in a WebSocket connection's goroutines has no recover
// and ends the test binary.
func newGuardedEnv(t *testing.T, limits ws.Limits) *env {
	t.Helper()
	eng := handlerstest.New(t, handlerstest.Options{})
	m := metrics.New()
	logger := slog.New(slog.NewTextHandler(panicWatch{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	api, err := httpapi.New(httpapi.Config{
		Commands: eng.Commands, Queries: eng.Queries, Store: eng.Store, Secret: eng.Secret, Metrics: m,
		Ready: func(context.Context) error { return nil }, Logger: logger,
	})
	if err != nil {
		t.Fatal(err)
	}
	gw, err := gateway.New(gateway.Config{
		Commands: eng.Commands, Queries: eng.Queries, Store: eng.Store, Secret: eng.Secret, Metrics: m, Opener: eng.Sealer,
		Logger: logger, WS: limits, API: api,
	})
	if err != nil {
		t.Fatal(err)
	}
	eng.FastPath.Set(gw.Committed)
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
	srv := httptest.NewUnstartedServer(gw.Handler())
	srv.Config.ErrorLog = log.New(panicWatch{t}, "http server: ", 0)
	srv.Start()
	t.Cleanup(func() {
		sctx, scancel := context.WithTimeout(context.Background(), wait)
		defer scancel()
		api.CloseFeeds()
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

// panicWatch logs the server's log lines and fails the test on any that
// mentions a panic.
type panicWatch struct{ t *testing.T }

func (w panicWatch) Write(p []byte) (int, error) {
	line := strings.TrimSpace(string(p))
	if strings.Contains(strings.ToLower(line), "panic") {
		w.t.Errorf("the server panicked: %s", line)
	} else {
		w.t.Log(line)
	}
	return len(p), nil
}

// storedCounts is what the event log holds: events and streams (sessions).
type storedCounts struct{ events, streams int64 }

func (e *env) storedCounts(t *testing.T) storedCounts {
	t.Helper()
	var c storedCounts
	err := e.Pool.QueryRow(context.Background(),
		`SELECT (SELECT count(*) FROM tellyou_events), (SELECT count(*) FROM tellyou_streams)`).Scan(&c.events, &c.streams)
	if err != nil {
		t.Fatalf("count the event log (are its tables still there?): %v", err)
	}
	return c
}

// tablesIntact fails the test unless every table of the event log and the
// read models is still there.
func (e *env) tablesIntact(t *testing.T) {
	t.Helper()
	for _, table := range []string{"tellyou_events", "tellyou_streams", "rm_messages", "rm_sessions", "rm_members", "rm_checkpoints"} {
		var exists bool
		if err := e.Pool.QueryRow(context.Background(), `SELECT to_regclass($1) IS NOT NULL`, table).Scan(&exists); err != nil || !exists {
			t.Errorf("table %s: exists %v (%v)", table, exists, err)
		}
	}
}

// badTokens are tokens every endpoint must refuse with 401, by what is wrong
// with them.
func badTokens(t *testing.T, secret []byte) map[string]string {
	t.Helper()
	now := time.Now()
	sign := func(method jwt.SigningMethod, key any, claims jwt.MapClaims) string {
		t.Helper()
		s, err := jwt.NewWithClaims(method, claims).SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	valid := func(sub string) jwt.MapClaims {
		return jwt.MapClaims{"sub": sub, "iat": now.Unix(), "exp": now.Add(time.Hour).Unix()}
	}
	noExp := valid("ann")
	delete(noExp, "exp")
	expired := valid("ann")
	expired["exp"] = now.Add(-time.Minute).Unix()
	return map[string]string{
		"garbage":            "a.b.c",
		"not a JWT":          "'; DROP TABLE tellyou_events; --",
		"forged":             sign(jwt.SigningMethodHS256, []byte("another-secret-0123456789abcdef"), valid("ann")),
		"expired":            sign(jwt.SigningMethodHS256, secret, expired),
		"alg none":           sign(jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, valid("ann")),
		"HS512":              sign(jwt.SigningMethodHS512, secret, valid("ann")),
		"no exp":             sign(jwt.SigningMethodHS256, secret, noExp),
		"exp a string":       sign(jwt.SigningMethodHS256, secret, jwt.MapClaims{"sub": "ann", "exp": "tomorrow"}),
		"exp 1e400":          signRaw(t, secret, `{"sub":"ann","exp":1e400}`),
		"exp negative":       signRaw(t, secret, `{"sub":"ann","exp":-1}`),
		"claims not JSON":    signRaw(t, secret, `{"sub":"ann","exp":`),
		"claims an array":    signRaw(t, secret, `["ann"]`),
		"sub with a space":   sign(jwt.SigningMethodHS256, secret, valid("bob smith")),
		"sub of 65 chars":    sign(jwt.SigningMethodHS256, secret, valid(strings.Repeat("a", 65))),
		"no sub":             sign(jwt.SigningMethodHS256, secret, jwt.MapClaims{"exp": now.Add(time.Hour).Unix()}),
		"sub SQL":            sign(jwt.SigningMethodHS256, secret, valid("'; DROP TABLE tellyou_events; --")),
		"signature stripped": strings.Join(strings.Split(sign(jwt.SigningMethodHS256, secret, valid("ann")), ".")[:2], ".") + ".",
	}
}

// signRaw signs a hand-written claims text with HS256, as a client with the
// secret but without a JWT library could.
func signRaw(t *testing.T, secret []byte, claims string) string {
	t.Helper()
	enc := base64.RawURLEncoding.EncodeToString
	signing := enc([]byte(`{"alg":"HS256","typ":"JWT"}`)) + "." + enc([]byte(claims))
	sig, err := jwt.SigningMethodHS256.Sign(signing, secret)
	if err != nil {
		t.Fatal(err)
	}
	return signing + "." + enc(sig)
}
