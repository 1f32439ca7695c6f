package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/tellyou/tellyou/handlers/transport/wire"
)

// writeJSON answers with v as JSON. Answers are never cached: they are
// per-user and change with every message.
func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := encodeJSON(v)
	if err != nil {
		// Every answer is a plain struct of strings, numbers and raw JSON that
		// was valid when stored; this is a programming error.
		status = http.StatusInternalServerError
		body, _ = encodeJSON(&wire.Error{Code: wire.CodeInternal, Message: "internal error"})
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(append(body, '\n')) // a client gone away is no error of ours
}

// encodeJSON renders v as one line of compact JSON. '<', '>' and '&' are not
// escaped: answers are served as application/json with nosniff, never as
// HTML, and clients see user content as it was sent.
func encodeJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("encode answer: %w", err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// fail answers with err in its wire form and the matching status. Internal
// errors are logged with their details, which the answer hides; storage
// outages, requests past their deadline among them, are logged as warnings
// unless the client went away.
func (a *API) fail(w http.ResponseWriter, r *http.Request, err error) {
	we := wire.FromError(err)
	switch we.Code {
	case wire.CodeInternal:
		a.logOf(r).Error("http request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	case wire.CodeUnavailable:
		if !errors.Is(r.Context().Err(), context.Canceled) {
			a.logOf(r).Warn("http request failed: storage unavailable", "method", r.Method, "path", r.URL.Path, "err", err)
		}
	case wire.CodeRateLimited:
		a.cfg.Metrics.RateLimited.Inc()
	}
	if we.Code == wire.CodeUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="tellyou"`)
	}
	if we.RetryAfterMs > 0 {
		// Whole seconds, rounded up, as RFC 9110 asks; the body has the ms.
		w.Header().Set("Retry-After", strconv.FormatInt((we.RetryAfterMs+999)/1000, 10))
	}
	writeJSON(w, we.HTTPStatus(), we)
}
