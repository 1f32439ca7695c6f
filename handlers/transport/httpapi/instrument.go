package httpapi

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/tellyou/tellyou/handlers/transport/wire"
)

// statusRecorder remembers the status of an answer for the metrics and the
// panic handler. It passes Flush and the ResponseController's other calls
// through to the wrapped writer.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(status int) {
	if s.status == 0 {
		s.status = status
	}
	s.ResponseWriter.WriteHeader(status)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

// Flush sends buffered data to the client (http.Flusher).
func (s *statusRecorder) Flush() { _ = s.FlushError() }

// FlushError sends buffered data to the client; http.ResponseController
// prefers it to Flush because it reports failures.
func (s *statusRecorder) FlushError() error {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return http.NewResponseController(s.ResponseWriter).Flush()
}

// Unwrap lets http.ResponseController reach the wrapped writer.
func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// answered is the status the client got.
func (s *statusRecorder) answered() int {
	if s.status == 0 {
		return http.StatusOK // a handler that wrote nothing answered 200
	}
	return s.status
}

// count records one answer in the request counter.
func (a *API) count(route string, rec *statusRecorder) {
	a.cfg.Metrics.HTTPRequests.WithLabelValues(route, strconv.Itoa(rec.answered())).Inc()
}

// isProbeRoute reports the routes load balancers, orchestrators and
// Prometheus call every few seconds; their answers are logged at debug level
// only.
func isProbeRoute(route string) bool {
	switch route {
	case "GET /healthz", "GET /readyz", "GET /metrics":
		return true
	}
	return false
}

// logAnswer logs one line per answered request, at info level (debug for
// probe routes): "http request" with method, path, route pattern, status and
// duration, and the correlation id the request's logger adds.
func (a *API) logAnswer(r *http.Request, route string, rec *statusRecorder, took time.Duration) {
	level := slog.LevelInfo
	if isProbeRoute(route) {
		level = slog.LevelDebug
	}
	a.logOf(r).LogAttrs(r.Context(), level, "http request",
		slog.String("method", r.Method), slog.String("path", r.URL.Path), slog.String("route", route),
		slog.Int("status", rec.answered()), slog.Duration("duration", took))
}

// recoverPanic turns a handler's panic into a logged 500 internal. When the
// answer had already begun, it cannot be replaced: the connection is aborted
// (http.ErrAbortHandler) so that the client sees a broken answer rather than a
// truncated one that looks complete.
func (a *API) recoverPanic(rec *statusRecorder, r *http.Request) {
	v := recover()
	if v == nil {
		return
	}
	if err, ok := v.(error); ok && errors.Is(err, http.ErrAbortHandler) {
		panic(v)
	}
	a.logOf(r).Error("http handler panicked", "method", r.Method, "path", r.URL.Path,
		"panic", fmt.Sprint(v), "stack", string(debug.Stack()))
	if rec.status != 0 {
		panic(http.ErrAbortHandler)
	}
	writeJSON(rec, http.StatusInternalServerError, &wire.Error{Code: wire.CodeInternal, Message: "internal error"})
}
