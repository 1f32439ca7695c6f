package httpapi

import (
	"errors"
	"fmt"
	"net/http"
	"runtime/debug"
	"strconv"

	"github.com/tellyou/tellyou/handlers/wire"
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

// count records one answer in the request counter.
func (a *API) count(route string, rec *statusRecorder) {
	status := rec.status
	if status == 0 {
		status = http.StatusOK // a handler that wrote nothing answered 200
	}
	a.cfg.Metrics.HTTPRequests.WithLabelValues(route, strconv.Itoa(status)).Inc()
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
	a.cfg.Logger.Error("http handler panicked", "method", r.Method, "path", r.URL.Path,
		"panic", fmt.Sprint(v), "stack", string(debug.Stack()))
	if rec.status != 0 {
		panic(http.ErrAbortHandler)
	}
	writeJSON(rec, http.StatusInternalServerError, &wire.Error{Code: wire.CodeInternal, Message: "internal error"})
}
