package httpapi

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// readyTimeout bounds one readiness check: /readyz answers within it
// whatever the dependencies do, and a probe that hangs is as good as a
// failed one. Load balancers and orchestrators commonly give a probe 1 s.
const readyTimeout = time.Second

// healthAnswer is the answer of /healthz and /readyz.
type healthAnswer struct {
	Status string `json:"status"`
	Reason string `json:"reason,omitempty"`
}

// healthz answers GET /healthz: the process serves HTTP. It checks no
// dependency, so a storage outage never gets a healthy node restarted.
func (a *API) healthz(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, healthAnswer{Status: "ok"})
}

// readyz answers GET /readyz: 200 {"status":"ready"} when Config.Ready
// returns nil within readyTimeout, 503 {"status":"not ready","reason":...}
// otherwise, at the latest when readyTimeout has passed.
func (a *API) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
	defer cancel()
	if err := a.checkReady(ctx); err != nil {
		a.logOf(r).Debug("not ready", "reason", err)
		writeJSON(w, http.StatusServiceUnavailable, healthAnswer{Status: "not ready", Reason: err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, healthAnswer{Status: "ready"})
}

// checkReady calls Config.Ready on a goroutine of its own and returns its
// answer, or an error once ctx ends: a check that ignores its context does
// not hold the answer (it finishes on its own, unwaited). A panic in the
// check is raised again here, for recoverPanic.
func (a *API) checkReady(ctx context.Context) error {
	type outcome struct {
		err      error
		panicked any
	}
	done := make(chan outcome, 1)
	go func() {
		var out outcome
		defer func() {
			out.panicked = recover()
			done <- out
		}()
		out.err = a.cfg.Ready(ctx)
	}()
	select {
	case out := <-done:
		if out.panicked != nil {
			panic(out.panicked)
		}
		return out.err
	case <-ctx.Done():
		return fmt.Errorf("the readiness check did not answer within %v", readyTimeout)
	}
}

// metricsHandler answers GET /metrics in the Prometheus text format from the
// metrics registry. A collector that fails is logged, with the scrape's
// correlation id, and left out.
func (a *API) metricsHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		promhttp.HandlerFor(a.cfg.Metrics.Registry, promhttp.HandlerOpts{
			ErrorLog:      slog.NewLogLogger(a.logOf(r).Handler(), slog.LevelError),
			ErrorHandling: promhttp.ContinueOnError, // serve what could be gathered
		}).ServeHTTP(w, r)
	})
}
