package openapi_test

import (
	"net/http"
	"testing"
)

func checkMute(t *testing.T, c *checker, w world) {
	const patch = http.MethodPatch
	me := sessionPath(w.group, "/me")
	c.do(t, call{method: patch, path: me, token: w.bob, body: `{"muted":true}`, status: http.StatusOK})
	c.do(t, call{method: patch, path: me, token: w.bob, body: `{"muted":false}`, status: http.StatusOK})
	c.do(t, call{method: patch, path: me, token: w.bob, body: `{}`, status: http.StatusBadRequest, invalid: true})
	c.do(t, call{method: patch, path: me, token: w.bob, body: `{"muted":"yes"}`, status: http.StatusBadRequest, invalid: true})
	c.do(t, call{method: patch, path: me, token: w.bob, body: `{"muted":true,"snooze":60}`, status: http.StatusBadRequest, invalid: true})
	c.do(t, call{method: patch, path: me, token: w.cat, body: `{"muted":true}`, status: http.StatusForbidden})
	c.do(t, call{method: patch, path: sessionPath(w.unknownGroup, "/me"), token: w.ann, body: `{"muted":true}`, status: http.StatusNotFound})
	c.do(t, call{method: patch, path: sessionPath("nope", "/me"), token: w.ann, body: `{"muted":true}`, status: http.StatusBadRequest, invalid: true})
	c.do(t, call{method: patch, path: me, body: `{"muted":true}`, status: http.StatusUnauthorized, invalid: true})
}
