package openapi_test

import (
	"net/http"
	"testing"

	"github.com/tellyou/tellyou/handlers/transport/auth"
)

// checkErasure erases cat, who is in no session, so that the other checks
// see the same world whether they run before or after it.
func checkErasure(t *testing.T, c *checker, w world) {
	const del, get = http.MethodDelete, http.MethodGet
	admin := mint(t, "ops", auth.RoleAdmin)
	c.do(t, call{method: del, path: "/v1/users/cat", token: w.bob, status: http.StatusForbidden})
	c.do(t, call{method: del, path: "/v1/users/cat", token: w.auditor, status: http.StatusForbidden})
	c.do(t, call{method: del, path: "/v1/users/me", token: w.cat, status: http.StatusOK})
	c.do(t, call{method: del, path: "/v1/users/cat", token: admin, status: http.StatusOK})
	c.do(t, call{method: del, path: "/v1/users/bad:id", token: admin, status: http.StatusBadRequest})
	c.do(t, call{method: del, path: "/v1/users/cat", status: http.StatusUnauthorized, invalid: true})

	events := "/v1/audit/users/cat/events"
	c.do(t, call{method: get, path: events, token: admin, status: http.StatusOK})
	c.do(t, call{method: get, path: events + "?fromVersion=2&limit=1", token: w.auditor, status: http.StatusOK})
	c.do(t, call{method: get, path: "/v1/audit/users/nobody/events", token: admin, status: http.StatusOK})
	c.do(t, call{method: get, path: events + "?limit=0", token: admin, status: http.StatusBadRequest, invalid: true})
	c.do(t, call{method: get, path: events, token: w.ann, status: http.StatusForbidden})
	c.do(t, call{method: get, path: events, status: http.StatusUnauthorized, invalid: true})
}
