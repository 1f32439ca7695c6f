package httpapi

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/google/uuid"
)

// requestIDHeader carries a request's correlation id, both ways: a client may
// choose it, and every answer tells it.
const requestIDHeader = "X-Request-Id"

// maxRequestIDLen bounds an X-Request-Id taken as the correlation id.
const maxRequestIDLen = 64

// requestScope is what a request carries through its handlers: the
// correlation id its events get in their metadata, and a logger that adds it
// to every line as "correlation_id".
type requestScope struct {
	correlationID string
	log           *slog.Logger
}

type requestScopeKey struct{}

// withRequestScope gives r its correlation id: the client's X-Request-Id when
// it is 1-64 characters of [A-Za-z0-9._:-], a fresh UUID otherwise. The id
// is returned in the answer's X-Request-Id header.
func (a *API) withRequestScope(w http.ResponseWriter, r *http.Request) *http.Request {
	id := r.Header.Get(requestIDHeader)
	if !validRequestID(id) {
		id = uuid.NewString()
	}
	w.Header().Set(requestIDHeader, id)
	scope := &requestScope{correlationID: id, log: a.cfg.Logger.With("correlation_id", id)}
	return r.WithContext(context.WithValue(r.Context(), requestScopeKey{}, scope))
}

// scopeOf returns the scope withRequestScope gave ctx's request; a context
// without one (a request that did not come through ServeHTTP) gets an empty
// correlation id, which the command handlers replace by a fresh one, and the
// API's logger.
func (a *API) scopeOf(ctx context.Context) *requestScope {
	if s, ok := ctx.Value(requestScopeKey{}).(*requestScope); ok {
		return s
	}
	return &requestScope{log: a.cfg.Logger}
}

// logOf is the logger for lines about r's request.
func (a *API) logOf(r *http.Request) *slog.Logger { return a.scopeOf(r.Context()).log }

func validRequestID(id string) bool {
	if len(id) == 0 || len(id) > maxRequestIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case c == '.', c == '_', c == ':', c == '-':
		default:
			return false
		}
	}
	return true
}
