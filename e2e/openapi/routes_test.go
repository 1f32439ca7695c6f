package openapi_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"
)

// serverRoutes is every route `tellyou serve` answers on its listen address
// (pprof has an address of its own and is off by default): the API's
// (handlers/transport/httpapi/api.go), the web client's
// (handlers/transport/webclient, with dev login on) and the WebSocket's
// (handlers/transport/gateway). A route added to the server goes here and
// into docs/openapi.yaml, with a call in TestServerMatchesDescription.
//
// The list is kept by hand, not read from the code: the routes are
// registered in three packages and put together in cmd/tellyou, so no one
// place in the code lists them. Three checks keep it honest: every route
// listed must be served; the description must have every route listed and
// nothing else but drafts not served yet; and each described path, asked
// with a method it lacks, must answer 405 with an Allow header naming the
// description's methods, so a method added to a known path fails the test.
// A new path that is in neither list nor description is the one change
// these checks cannot see.
var serverRoutes = []string{
	"GET /healthz",
	"GET /readyz",
	"GET /metrics",
	"GET /v1/sessions",
	"POST /v1/sessions",
	"POST /v1/sessions/{id}/members",
	"PATCH /v1/sessions/{id}",
	"GET /v1/sessions/{id}/messages",
	"GET /v1/inbox",
	"GET /v1/unread",
	"GET /v1/audit/sessions/{id}/events",
	"GET /v1/feed",
	"GET /v1/sessions/{id}/members",
	"GET /v1/presence",
	"GET /v1/search",
	"GET /v1/users/me/export",
	"DELETE /v1/users/{id}",
	"GET /v1/audit/users/{id}/events",
	"GET /v1/ws",
	"GET /",
	"GET /web/config.json",
	"GET /web/{file}",
	"GET /web/js/{module}",
	"POST /v1/dev/token",
	"PATCH /v1/sessions/{id}/me",
}

// checkRouteList checks serverRoutes against the description and the
// server. pathValues gives each path parameter a value the server knows.
func (c *checker) checkRouteList(t *testing.T, pathValues map[string]string) {
	t.Helper()
	described := operations(c.doc)
	for _, route := range serverRoutes {
		if !slices.Contains(described, route) {
			t.Errorf("%s is served but not in the description", route)
		}
		method, path, _ := strings.Cut(route, " ")
		if ok, answer := c.served(t, method, fill(path, pathValues)); !ok {
			t.Errorf("%s is listed as served but answers %s", route, answer)
		}
	}
	for _, op := range described {
		if !slices.Contains(serverRoutes, op) && !c.isDraft(op) {
			t.Errorf("%s is in the description but is neither a served route nor a draft", op)
		}
	}
}

// checkAllowedMethods asks each described path with a method none of them
// has, without a token, and compares the Allow header of the 405 with the
// methods the description has for the path (HEAD aside, which every GET
// route answers), less the drafts the server does not serve yet.
func (c *checker) checkAllowedMethods(t *testing.T, pathValues map[string]string) {
	t.Helper()
	for path, item := range c.doc.Paths.Map() {
		// The probe is a method the path does not describe.
		probe := http.MethodPut
		for _, m := range []string{http.MethodPut, http.MethodPatch, http.MethodDelete} {
			if item.GetOperation(m) == nil {
				probe = m
				break
			}
		}
		var want []string
		for method := range item.Operations() {
			op := method + " " + path
			if c.isDraft(op) {
				if ok, _ := c.served(t, method, fill(path, pathValues)); !ok {
					continue
				}
			}
			want = append(want, method)
		}
		slices.Sort(want)
		a := c.raw(t, probe, fill(path, pathValues), nil)
		switch {
		case len(want) == 0 && a.status == http.StatusNotFound && isNoSuchRoute(a.body):
			// Only drafts live here, none served yet.
		case a.status != http.StatusMethodNotAllowed:
			t.Errorf("%s %s answers %d, not 405: the server serves a method the description lacks; body %s", probe, path, a.status, a.body)
		default:
			var got []string
			for _, m := range strings.Split(a.header.Get("Allow"), ",") {
				if m = strings.TrimSpace(m); m != "" && m != http.MethodHead {
					got = append(got, m)
				}
			}
			slices.Sort(got)
			if !slices.Equal(got, want) {
				t.Errorf("%s serves %v (Allow: %q), the description has %v", path, got, a.header.Get("Allow"), want)
			}
		}
	}
}

// checkCoverage checks that every operation of the description was
// validated against a live answer, or is a draft the server does not serve
// yet.
func (c *checker) checkCoverage(t *testing.T) {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, op := range operations(c.doc) {
		switch {
		case c.validated[op] && c.isDraft(op):
			t.Logf("%s is served and matches its draft: drop its x-draft mark and list it in serverRoutes", op)
		case c.validated[op]:
		case c.pending[op] != "":
			t.Logf("%s: draft not served yet, not validated", op)
		default:
			t.Errorf("%s is in the description but no request of the test validated it", op)
		}
	}
}

// fill puts values into a path's {parameters}.
func fill(path string, values map[string]string) string {
	for name, v := range values {
		path = strings.ReplaceAll(path, "{"+name+"}", v)
	}
	return path
}
