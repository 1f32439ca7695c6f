package httpapi_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tellyou/tellyou/handlers/handlerstest"
	"github.com/tellyou/tellyou/handlers/metrics"
	"github.com/tellyou/tellyou/handlers/transport/httpapi"
)

// newServerWithRequestTimeout is newServer with Config.RequestTimeout set.
func newServerWithRequestTimeout(t *testing.T, timeout time.Duration) *server {
	t.Helper()
	s := &server{Engine: handlerstest.New(t, handlerstest.Options{}), metrics: metrics.New()}
	api, err := httpapi.New(httpapi.Config{
		Commands: s.Commands, Queries: s.Queries, Store: s.Store, Secret: s.Secret, Metrics: s.metrics,
		Ready:          func(context.Context) error { return nil },
		Logger:         slog.New(slog.NewTextHandler(testLog{t}, &slog.HandlerOptions{Level: slog.LevelDebug})),
		RequestTimeout: timeout,
	})
	if err != nil {
		t.Fatal(err)
	}
	s.api = api
	srv := httptest.NewServer(api)
	s.url = srv.URL
	t.Cleanup(func() { api.CloseFeeds(); srv.Close() })
	return s
}

// A request whose deadline has passed before its database calls is answered
// 503 unavailable, and changes nothing; the feed has no deadline and streams.
func TestRequestsPastTheirDeadlineAreUnavailable(t *testing.T) {
	t.Parallel()
	s := newServerWithRequestTimeout(t, time.Nanosecond)
	s.SendTo(t, "ann", "bob", "hello", "c1")
	wantError(t, s.get(t, "ann", "/v1/sessions"), http.StatusServiceUnavailable, "unavailable")
	wantError(t, s.get(t, "bob", "/v1/inbox"), http.StatusServiceUnavailable, "unavailable")
	wantError(t, s.post(t, "ann", "/v1/sessions", map[string]any{"title": "team", "members": []string{"bob"}}),
		http.StatusServiceUnavailable, "unavailable")

	// The feed is not cut short: it delivers the log.
	f := s.openFeed(t, "", "")
	if ev := f.next(t); ev.id < 1 || ev.data.StreamID != "d:ann:bob" {
		t.Fatalf("first feed event = %+v", ev)
	}
	// Health and metrics need no database deadline of the API's.
	if a := s.get(t, "", "/readyz"); a.status != http.StatusOK {
		t.Fatalf("readyz = %d %s", a.status, a.body)
	}
}

// The requests of the API carry the configured deadline: with a generous one
// they are served as usual.
func TestRequestsWithinTheirDeadlineAreServed(t *testing.T) {
	t.Parallel()
	s := newServerWithRequestTimeout(t, 10*time.Second)
	s.SendTo(t, "ann", "bob", "hello", "c1")
	s.CaughtUp(t)
	got := decodeAs[map[string][]map[string]any](t, s.get(t, "ann", "/v1/sessions"), http.StatusOK)
	if len(got["sessions"]) != 1 {
		t.Fatalf("sessions = %v", got)
	}
}

// A readiness check that hangs, ignoring its context, is answered not ready
// within a second; the check was given a deadline of at most a second.
func TestReadyzAnswersWithinASecondWhenTheCheckHangs(t *testing.T) {
	t.Parallel()
	s := newServer(t, serverOptions{})
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	deadlines := make(chan time.Duration, 1)
	s.setReady(func(ctx context.Context) error {
		dl, ok := ctx.Deadline()
		if !ok {
			return errors.New("the check has no deadline")
		}
		select {
		case deadlines <- time.Until(dl):
		default:
		}
		<-release
		return nil
	})
	start := time.Now()
	a := s.get(t, "", "/readyz")
	took := time.Since(start)
	got := decodeAs[map[string]string](t, a, http.StatusServiceUnavailable)
	if got["status"] != "not ready" || !strings.Contains(got["reason"], "did not answer within 1s") {
		t.Fatalf("readyz with a hung check = %s", a.body)
	}
	if took > 1500*time.Millisecond {
		t.Fatalf("readyz with a hung check answered after %v, want about 1s", took)
	}
	if left := <-deadlines; left > time.Second {
		t.Fatalf("the check's deadline was %v away, want at most 1s", left)
	}
}
