package httpapi_test

import (
	"net/http"
	"testing"
)

// memberSettings is the answer of PATCH /v1/sessions/{id}/me.
type memberSettings struct {
	SessionID string `json:"sessionId"`
	UserID    string `json:"userId"`
	Muted     bool   `json:"muted"`
}

func (s *server) patch(t *testing.T, user, path string, body any) answer {
	t.Helper()
	return s.do(t, request{method: http.MethodPatch, path: path, token: s.tokenOf(t, user), body: body})
}

func TestMuteAndUnmute(t *testing.T) {
	t.Parallel()
	s := newServer(t, serverOptions{})
	g := s.group(t, "ann", "team", "bob")
	path := "/v1/sessions/" + g + "/me"

	a := s.patch(t, "bob", path, `{"muted":true}`)
	wantKeys(t, a.body, "sessionId", "userId", "muted")
	if got := decodeAs[memberSettings](t, a, http.StatusOK); got != (memberSettings{g, "bob", true}) {
		t.Fatalf("bob mutes: %s", a.body)
	}
	if got := decodeAs[memberSettings](t, s.patch(t, "bob", path, `{"muted":true}`), http.StatusOK); !got.Muted {
		t.Fatalf("bob mutes again: %+v", got)
	}
	s.CaughtUp(t)
	for user, want := range map[string]bool{"bob": true, "ann": false} {
		list := decodeAs[sessionList](t, s.get(t, user, "/v1/sessions"), http.StatusOK)
		if len(list.Sessions) != 1 || list.Sessions[0].Muted != want {
			t.Errorf("%s's sessions = %+v, want muted %v", user, list.Sessions, want)
		}
	}
	if got := decodeAs[memberSettings](t, s.patch(t, "bob", path, `{"muted":false}`), http.StatusOK); got.Muted {
		t.Fatalf("bob unmutes: %+v", got)
	}
	s.CaughtUp(t)
	if list := decodeAs[sessionList](t, s.get(t, "bob", "/v1/sessions"), http.StatusOK); list.Sessions[0].Muted {
		t.Errorf("bob's session after unmuting: %+v", list.Sessions[0])
	}
}

func TestMuteRefusesBadRequests(t *testing.T) {
	t.Parallel()
	s := newServer(t, serverOptions{})
	g := s.group(t, "ann", "team", "bob")
	path := "/v1/sessions/" + g + "/me"
	cases := []struct {
		name, user, path string
		body             any
		status           int
		code             string
		words            []string
	}{
		{"an outsider", "zed", path, `{"muted":true}`, 403, "forbidden", nil},
		{"an unknown group", "ann", "/v1/sessions/g:5f0c7e3e-6d1a-4c1e-9a51-0d6f3a6a1b2c/me", `{"muted":true}`, 404, "not_found", nil},
		{"an unknown direct session", "ann", "/v1/sessions/d:ann:zed/me", `{"muted":true}`, 404, "not_found", nil},
		{"a malformed session id", "ann", "/v1/sessions/nonsense/me", `{"muted":true}`, 400, "bad_request", nil},
		{"no muted", "ann", path, `{}`, 400, "bad_request", []string{"muted", "missing"}},
		{"an unknown field", "ann", path, `{"muted":true,"mute":false}`, 400, "bad_request", []string{"unknown field", "mute"}},
		{"muted as a string", "ann", path, `{"muted":"true"}`, 400, "bad_request", []string{"muted", "true or false"}},
		{"muted as a number", "ann", path, `{"muted":1}`, 400, "bad_request", []string{"muted"}},
		{"muted null", "ann", path, `{"muted":null}`, 400, "bad_request", []string{"muted"}},
		{"not an object", "ann", path, `[true]`, 400, "bad_request", nil},
		{"malformed JSON", "ann", path, `{"muted":`, 400, "bad_request", nil},
		{"empty body", "ann", path, nil, 400, "bad_request", nil},
		{"data after the object", "ann", path, `{"muted":true} {}`, 400, "bad_request", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			wantError(t, s.patch(t, tc.user, tc.path, tc.body), tc.status, tc.code, tc.words...)
		})
	}
	if a := s.do(t, request{method: http.MethodPatch, path: path, body: `{"muted":true}`}); a.status != http.StatusUnauthorized {
		t.Errorf("without a token: %d %s", a.status, a.body)
	}
	// Nothing refused changed anything.
	s.CaughtUp(t)
	if list := decodeAs[sessionList](t, s.get(t, "ann", "/v1/sessions"), http.StatusOK); list.Sessions[0].Muted {
		t.Errorf("ann is muted after refused requests: %+v", list.Sessions[0])
	}
}
