package httpapi

import (
	"net/http"
	"sync"
	"time"
)

// API serves the HTTP routes of the protocol. It is safe for concurrent use.
type API struct {
	cfg Config
	mux *http.ServeMux

	// closing is closed by CloseFeeds; open feeds end and new ones are refused.
	closing   chan struct{}
	closeOnce sync.Once
}

// New builds the API. It refuses a config that Validate refuses (after
// defaults are applied).
func New(cfg Config) (*API, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	a := &API{cfg: cfg, mux: http.NewServeMux(), closing: make(chan struct{})}
	a.routes()
	return a, nil
}

// routes registers every route; GET routes also answer HEAD.
func (a *API) routes() {
	a.mux.Handle("GET /healthz", http.HandlerFunc(a.healthz))
	a.mux.Handle("GET /readyz", http.HandlerFunc(a.readyz))
	a.mux.Handle("GET /metrics", a.metricsHandler())

	a.mux.Handle("GET /v1/sessions", a.withDeadline(a.authenticated(a.listSessions)))
	a.mux.Handle("POST /v1/sessions", a.withDeadline(a.authenticated(a.createGroup)))
	a.mux.Handle("PATCH /v1/sessions/{id}", a.withDeadline(a.authenticated(a.patchSession)))
	a.mux.Handle("POST /v1/sessions/{id}/members", a.withDeadline(a.authenticated(a.changeMembers)))
	a.mux.Handle("GET /v1/sessions/{id}/members", a.withDeadline(a.authenticated(a.members)))
	a.mux.Handle("PATCH /v1/sessions/{id}/me", a.withDeadline(a.authenticated(a.updateMemberSettings)))
	a.mux.Handle("GET /v1/presence", a.withDeadline(a.authenticated(a.presence)))
	a.mux.Handle("GET /v1/sessions/{id}/messages", a.withDeadline(a.authenticated(a.messages)))
	a.mux.Handle("GET /v1/inbox", a.withDeadline(a.authenticated(a.inbox)))
	a.mux.Handle("GET /v1/unread", a.withDeadline(a.authenticated(a.unread)))
	a.mux.Handle("GET /v1/search", a.withDeadline(a.authenticated(a.search)))
	a.mux.Handle("GET /v1/audit/sessions/{id}/events", a.withDeadline(a.authenticated(a.audit)))
	a.mux.Handle("DELETE /v1/users/{id}", a.withDeadline(a.authenticated(a.eraseUser)))
	a.mux.Handle("GET /v1/audit/users/{id}/events", a.withDeadline(a.authenticated(a.auditUser)))
	// The export and the feed stream for as long as their client reads: each
	// read of the export has the request deadline instead.
	a.mux.Handle("GET /v1/users/me/export", a.authenticated(a.export))
	// The feed streams until its client leaves: no deadline.
	a.mux.Handle("GET /v1/feed", a.authenticated(a.feed))
}

// ServeHTTP answers one request. Requests no route matches get 404 not_found,
// or 405 with an Allow header when the path exists for other methods; both
// need no token. Paths that are not in canonical form (such as "//" or "..")
// are redirected to their clean form when that form has a route.
//
// Every request gets a correlation id (see withRequestScope), answered in the
// X-Request-Id header, given to the events it appends and to every log line
// about it, including the one line logged when it is answered.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	started := time.Now()
	r = a.withRequestScope(w, r)
	rec := &statusRecorder{ResponseWriter: w}
	route := unmatchedRoute
	defer func() { a.count(route, rec); a.logAnswer(r, route, rec, time.Since(started)) }()
	defer a.recoverPanic(rec, r)

	if _, pattern := a.mux.Handler(r); pattern != "" {
		route = pattern
		a.mux.ServeHTTP(rec, r)
		return
	}
	a.noRoute(rec, r)
}

// CloseFeeds ends every open event feed and refuses new ones with
// unavailable. Call it when the server shuts down (for example from
// http.Server.RegisterOnShutdown): http.Server.Shutdown waits for active
// requests, and a feed never ends on its own. It may be called more than once.
func (a *API) CloseFeeds() {
	a.closeOnce.Do(func() { close(a.closing) })
}

var _ http.Handler = (*API)(nil)
