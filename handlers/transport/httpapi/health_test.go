package httpapi_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
)

func TestHealthReadinessAndMetricsNeedNoToken(t *testing.T) {
	t.Parallel()
	s := newServer(t, serverOptions{})

	a := s.get(t, "", "/healthz")
	if decodeAs[map[string]string](t, a, http.StatusOK)["status"] != "ok" {
		t.Fatalf("healthz = %s", a.body)
	}
	a = s.get(t, "", "/readyz")
	if got := decodeAs[map[string]string](t, a, http.StatusOK); got["status"] != "ready" {
		t.Fatalf("readyz = %s", a.body)
	}
	s.setReady(func(ctx context.Context) error {
		if _, ok := ctx.Deadline(); !ok {
			return errors.New("the check has no deadline")
		}
		return errors.New("projection sessions is failing")
	})
	a = s.get(t, "", "/readyz")
	if got := decodeAs[map[string]string](t, a, http.StatusServiceUnavailable); got["status"] != "not ready" || got["reason"] != "projection sessions is failing" {
		t.Fatalf("readyz when not ready = %s", a.body)
	}
	// A panicking check is a logged 500 internal, and the server goes on.
	s.setReady(func(context.Context) error { panic("boom") })
	wantError(t, s.get(t, "", "/readyz"), http.StatusInternalServerError, "internal")
	s.setReady(func(context.Context) error { return nil })
	if a := s.get(t, "", "/readyz"); a.status != http.StatusOK {
		t.Fatalf("readyz after a panic: %d %s", a.status, a.body)
	}
	// Tokens are not needed, and a bad one does not matter.
	if a := s.do(t, request{method: http.MethodGet, path: "/healthz", token: "garbage"}); a.status != http.StatusOK {
		t.Fatalf("healthz with a bad token: %d", a.status)
	}
	if a := s.do(t, request{method: http.MethodHead, path: "/healthz"}); a.status != http.StatusOK || len(a.body) != 0 {
		t.Fatalf("HEAD /healthz: %d %q", a.status, a.body)
	}

	s.get(t, "", "/v1/sessions")
	s.get(t, "", "/no/such/route")
	a = s.get(t, "", "/metrics")
	if a.status != http.StatusOK || !strings.HasPrefix(a.header.Get("Content-Type"), "text/plain") {
		t.Fatalf("metrics: %d %s", a.status, a.header.Get("Content-Type"))
	}
	text := string(a.body)
	for _, want := range []string{
		`tellyou_http_requests_total{code="200",route="GET /healthz"} 3`,
		`tellyou_http_requests_total{code="503",route="GET /readyz"} 1`,
		`tellyou_http_requests_total{code="500",route="GET /readyz"} 1`,
		`tellyou_http_requests_total{code="401",route="GET /v1/sessions"} 1`,
		`tellyou_http_requests_total{code="404",route="unmatched"} 1`,
		// The gateway's instruments live on the same registry.
		"tellyou_messages_sent_total", "tellyou_send_ack_latency_seconds", "tellyou_push_latency_seconds",
		"tellyou_connected_clients", "tellyou_redeliveries_total", "tellyou_rate_limited_total",
		"tellyou_slow_clients_closed_total", "go_goroutines",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}
