package httpapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
)

type wireSettings struct {
	SessionID     string `json:"sessionId"`
	RetentionDays *int   `json:"retentionDays"`
}

func TestPatchSessionSetsRetention(t *testing.T) {
	t.Parallel()
	s := newServer(t, serverOptions{})
	g := s.group(t, "ann", "Book club", "bob")
	d := s.sendTo(t, "cat", "dan", "hi").SessionID
	path := "/v1/sessions/" + g

	a := s.patch(t, "ann", path, `{"retentionDays": 30}`)
	got := decodeAs[wireSettings](t, a, http.StatusOK)
	wantKeys(t, a.body, "sessionId", "retentionDays")
	if got.SessionID != g || got.RetentionDays == nil || *got.RetentionDays != 30 {
		t.Fatalf("answer %s, want the group with 30 days", a.body)
	}
	// The same again: no new event, the same answer.
	if a := s.patch(t, "ann", path, `{"retentionDays":30}`); a.status != http.StatusOK {
		t.Fatalf("repeated PATCH: %d %s", a.status, a.body)
	}
	s.CaughtUp(t)
	list := decodeAs[sessionList](t, s.get(t, "bob", "/v1/sessions"), http.StatusOK)
	if len(list.Sessions) != 1 || list.Sessions[0].RetentionDays == nil || *list.Sessions[0].RetentionDays != 30 {
		t.Fatalf("bob's sessions = %+v, want the group with retentionDays 30", list.Sessions)
	}
	var changes int
	if err := s.Pool.QueryRow(context.Background(), `SELECT count(*) FROM tellyou_events WHERE stream_id = $1 AND type = 'SessionSettingsChanged'`, g).Scan(&changes); err != nil {
		t.Fatal(err)
	}
	if changes != 1 {
		t.Errorf("%d SessionSettingsChanged events, want 1 (a repeated setting appends nothing)", changes)
	}

	// Back to the server default.
	a = s.patch(t, "ann", path, `{"retentionDays": null}`)
	if got := decodeAs[wireSettings](t, a, http.StatusOK); got.RetentionDays != nil {
		t.Fatalf("answer %s, want retentionDays null", a.body)
	}
	var raw map[string]json.RawMessage
	_ = json.Unmarshal(a.body, &raw)
	if string(raw["retentionDays"]) != "null" {
		t.Fatalf("answer %s: retentionDays must be present as null", a.body)
	}

	// Either member of a direct session, which has no owner.
	for _, u := range []string{"cat", "dan"} {
		if a := s.patch(t, u, "/v1/sessions/"+d, `{"retentionDays": 7}`); a.status != http.StatusOK {
			t.Fatalf("%s on the direct session: %d %s", u, a.status, a.body)
		}
	}

	for _, tc := range []struct {
		name, user, path, body string
		status                 int
		code                   string
		words                  []string
	}{
		{"zero days", "ann", path, `{"retentionDays": 0}`, 400, "bad_request", []string{"1", "36500"}},
		{"negative", "ann", path, `{"retentionDays": -1}`, 400, "bad_request", []string{"whole number of days"}},
		{"over a hundred years", "ann", path, `{"retentionDays": 36501}`, 400, "bad_request", []string{"36500"}},
		{"huge", "ann", path, `{"retentionDays": 99999999999999999999}`, 400, "bad_request", []string{"36500"}},
		{"half a day", "ann", path, `{"retentionDays": 0.5}`, 400, "bad_request", []string{"whole number of days"}},
		{"exponent", "ann", path, `{"retentionDays": 1e1}`, 400, "bad_request", []string{"whole number of days"}},
		{"a string", "ann", path, `{"retentionDays": "30"}`, 400, "bad_request", []string{"retentionDays", "string"}},
		{"a boolean", "ann", path, `{"retentionDays": true}`, 400, "bad_request", []string{"retentionDays", "boolean"}},
		{"unknown field", "ann", path, `{"retentionDays": 3, "retention": 3}`, 400, "bad_request", []string{`"retention"`}},
		{"missing field", "ann", path, `{}`, 400, "bad_request", []string{"required"}},
		{"not an object", "ann", path, `[30]`, 400, "bad_request", []string{"object"}},
		{"malformed", "ann", path, `{"retentionDays": `, 400, "bad_request", []string{"malformed"}},
		{"member not owner", "bob", path, `{"retentionDays": 3}`, 403, "forbidden", []string{"owner"}},
		{"not a member", "eve", path, `{"retentionDays": 3}`, 403, "forbidden", []string{"member"}},
		{"no such group", "ann", "/v1/sessions/g:00000000-0000-4000-8000-000000000000", `{"retentionDays": 3}`, 404, "not_found", nil},
		{"outsider of a direct session", "eve", "/v1/sessions/" + d, `{"retentionDays": 3}`, 403, "forbidden", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantError(t, s.patch(t, tc.user, tc.path, tc.body), tc.status, tc.code, tc.words...)
		})
	}
	if a := s.do(t, request{method: http.MethodPatch, path: path, body: `{"retentionDays": 3}`}); a.status != http.StatusUnauthorized {
		t.Errorf("without a token: %d, want 401", a.status)
	}
	// Nothing refused changed the setting.
	s.CaughtUp(t)
	list = decodeAs[sessionList](t, s.get(t, "ann", "/v1/sessions"), http.StatusOK)
	for _, e := range list.Sessions {
		if e.SessionID == g && e.RetentionDays != nil {
			t.Errorf("after refused requests the group has retentionDays %d, want null", *e.RetentionDays)
		}
	}
}
