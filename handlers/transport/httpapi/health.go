package httpapi

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// readyTimeout bounds one readiness check: a probe that hangs is as good as a
// failed one.
const readyTimeout = 5 * time.Second

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
// otherwise.
func (a *API) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
	defer cancel()
	if err := a.cfg.Ready(ctx); err != nil {
		a.logOf(r).Debug("not ready", "reason", err)
		writeJSON(w, http.StatusServiceUnavailable, healthAnswer{Status: "not ready", Reason: err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, healthAnswer{Status: "ready"})
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
