package httpapi

import (
	"net/http"

	"github.com/tellyou/tellyou/handlers/transport/wire"
)

// unmatchedRoute is the route label of requests no route matches.
const unmatchedRoute = "unmatched"

// noRoute answers a request no pattern matches: 405 when the path has routes
// for other methods, 404 otherwise. The mux knows which; its own answer (plain
// text) is captured for its status and Allow header, then replaced by JSON.
func (a *API) noRoute(w http.ResponseWriter, r *http.Request) {
	h, _ := a.mux.Handler(r)
	probe := &headerProbe{header: http.Header{}}
	h.ServeHTTP(probe, r)
	if probe.status == http.StatusMethodNotAllowed {
		allow := probe.header.Get("Allow")
		w.Header().Set("Allow", allow)
		writeJSON(w, http.StatusMethodNotAllowed,
			wire.BadRequest("method "+r.Method+" is not allowed here; allowed: "+allow))
		return
	}
	a.fail(w, r, &wire.Error{Code: wire.CodeNotFound, Message: "no such route"})
}

// headerProbe is a ResponseWriter that keeps the status and headers and drops
// the body.
type headerProbe struct {
	header http.Header
	status int
}

func (p *headerProbe) Header() http.Header { return p.header }

func (p *headerProbe) Write(b []byte) (int, error) {
	if p.status == 0 {
		p.status = http.StatusOK
	}
	return len(b), nil
}

func (p *headerProbe) WriteHeader(status int) {
	if p.status == 0 {
		p.status = status
	}
}
