package ws_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tellyou/tellyou/handlers/command"
	"github.com/tellyou/tellyou/handlers/delivery"
	"github.com/tellyou/tellyou/handlers/metrics"
	"github.com/tellyou/tellyou/handlers/query"
	"github.com/tellyou/tellyou/handlers/transport/auth"
	"github.com/tellyou/tellyou/handlers/transport/ws"
)

var secret = []byte("ws-test-secret-0123456789abcdef")

type noMembers struct{}

func (noMembers) Members(context.Context, string) ([]string, error) { return nil, nil }

// newHandler builds a handler whose command and query handlers are never
// reached: these tests stop before the upgrade, or send only frames that are
// refused before any handler runs.
func newHandler(t *testing.T, limits ws.Limits) *ws.Handler {
	t.Helper()
	return newHandlerWithMetrics(t, limits, metrics.New())
}

func newHandlerWithMetrics(t *testing.T, limits ws.Limits, m *metrics.Metrics) *ws.Handler {
	t.Helper()
	hub, err := delivery.New(delivery.Config{Members: noMembers{}, Metrics: m})
	if err != nil {
		t.Fatal(err)
	}
	h, err := ws.New(ws.Config{Commands: &command.Commands{}, Queries: &query.Queries{}, Hub: hub, Secret: secret, Metrics: m, Limits: limits})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestNewRefusesMissingDependencies(t *testing.T) {
	t.Parallel()
	good := ws.Config{Commands: &command.Commands{}, Queries: &query.Queries{}, Hub: &delivery.Hub{}, Secret: secret, Metrics: metrics.New()}
	cases := map[string]func(*ws.Config){
		"commands": func(c *ws.Config) { c.Commands = nil },
		"queries":  func(c *ws.Config) { c.Queries = nil },
		"hub":      func(c *ws.Config) { c.Hub = nil },
		"metrics":  func(c *ws.Config) { c.Metrics = nil },
		"secret":   func(c *ws.Config) { c.Secret = []byte("short") },
	}
	for name, breakIt := range cases {
		cfg := good
		breakIt(&cfg)
		if _, err := ws.New(cfg); err == nil {
			t.Errorf("New without %s succeeded", name)
		}
	}
}

func TestRefusalsBeforeTheUpgradeAreJSON(t *testing.T) {
	t.Parallel()
	h := newHandler(t, ws.Limits{})
	valid, err := auth.Mint(secret, auth.Principal{UserID: "ann"}, time.Now(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	check := func(name string, r *http.Request, status int, code string) {
		t.Helper()
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		var body struct{ Code, Message string }
		if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || w.Code != status || body.Code != code ||
			body.Message == "" || !strings.HasPrefix(w.Header().Get("Content-Type"), "application/json") {
			t.Errorf("%s: %d %q, want %d with code %s", name, w.Code, w.Body.String(), status, code)
		}
	}
	check("POST", httptest.NewRequest(http.MethodPost, "/v1/ws?token="+valid, nil), http.StatusMethodNotAllowed, "bad_request")
	check("no token", httptest.NewRequest(http.MethodGet, "/v1/ws", nil), http.StatusUnauthorized, "unauthorized")
	check("bad token", httptest.NewRequest(http.MethodGet, "/v1/ws?token=x.y.z", nil), http.StatusUnauthorized, "unauthorized")

	if err := h.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	check("after shutdown", httptest.NewRequest(http.MethodGet, "/v1/ws?token="+valid, nil), http.StatusServiceUnavailable, "unavailable")
}
