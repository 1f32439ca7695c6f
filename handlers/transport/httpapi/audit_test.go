package httpapi_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/google/uuid"
)

func TestAuditShowsRawEventsToAuditorsOnly(t *testing.T) {
	t.Parallel()
	s := newServer(t, serverOptions{})
	created := s.do(t, request{method: http.MethodPost, path: "/v1/sessions", token: s.Token(t, "ann"),
		body: `{"title":"audited","members":["bob"]}`, header: map[string]string{"X-Request-Id": "req-42"}})
	g := decodeAs[wireSession](t, created, http.StatusCreated).SessionID
	s.send(t, "bob", g, "on the record")
	path := "/v1/audit/sessions/" + g + "/events"

	wantError(t, s.get(t, "ann", path), http.StatusForbidden, "forbidden", "auditor")
	wantError(t, s.get(t, "ann", path+"?limit=bad"), http.StatusForbidden, "forbidden")
	wantError(t, s.get(t, "ann", "/v1/audit/sessions/d:no:one/events"), http.StatusForbidden, "forbidden")

	a := s.get(t, "auditor-1", path)
	evs := decodeAs[auditAnswer](t, a, http.StatusOK).Events
	if len(evs) != 2 || evs[0].Type != "SessionCreated" || evs[1].Type != "MessageSent" {
		t.Fatalf("audit = %s", a.body)
	}
	var raw struct {
		Events []json.RawMessage `json:"events"`
	}
	if err := json.Unmarshal(a.body, &raw); err != nil {
		t.Fatal(err)
	}
	for i, ev := range evs {
		wantKeys(t, raw.Events[i], "streamId", "version", "globalPosition", "type", "data", "metadata")
		wantKeys(t, ev.Metadata, "eventId", "correlationId", "causationId", "actor", "occurredAt", "schemaVersion")
		if ev.StreamID != g || ev.Version != int64(i+1) || ev.GlobalPosition <= 0 || (i > 0 && ev.GlobalPosition <= evs[i-1].GlobalPosition) {
			t.Fatalf("event %d = %+v", i, ev)
		}
	}
	var meta struct {
		EventID       string `json:"eventId"`
		CorrelationID string `json:"correlationId"`
		CausationID   string `json:"causationId"`
		Actor         string `json:"actor"`
		OccurredAt    int64  `json:"occurredAt"`
		SchemaVersion int    `json:"schemaVersion"`
	}
	if err := json.Unmarshal(evs[0].Metadata, &meta); err != nil {
		t.Fatal(err)
	}
	if _, err := uuid.Parse(meta.EventID); err != nil || meta.CorrelationID != "req-42" || meta.CausationID != "req-42" ||
		meta.Actor != "ann" || meta.OccurredAt <= 0 || meta.SchemaVersion != 1 {
		t.Fatalf("creation metadata = %+v; the X-Request-Id is its correlation id", meta)
	}
	if err := json.Unmarshal(evs[1].Metadata, &meta); err != nil || meta.Actor != "bob" || meta.CorrelationID == "req-42" {
		t.Fatalf("send metadata = %+v, %v", meta, err)
	}
	// The content is stored sealed; the auditor sees it as stored and
	// what opening it gives.
	var data struct {
		Content string          `json:"content"`
		Seq     int64           `json:"seq"`
		Sealed  json.RawMessage `json:"sealed"`
	}
	if err := json.Unmarshal(evs[1].Data, &data); err != nil || data.Content != "" || data.Seq != 1 || len(data.Sealed) == 0 ||
		evs[1].Opened == nil || *evs[1].Opened != (auditOpened{Status: "content", Content: "on the record"}) || evs[0].Opened != nil {
		t.Fatalf("MessageSent data = %s, opened %+v, %v", evs[1].Data, evs[1].Opened, err)
	}
	if err := json.Unmarshal(evs[1].Metadata, &meta); err != nil || meta.SchemaVersion != 2 {
		t.Fatalf("sealed send metadata = %+v, %v; want schema version 2", meta, err)
	}

	pages := []struct {
		query    string
		versions []int64
	}{
		{"?fromVersion=2", []int64{2}},
		{"?fromVersion=0", []int64{1, 2}},
		{"?limit=1", []int64{1}},
		{"?fromVersion=2&limit=1000", []int64{2}},
		{"?fromVersion=3", []int64{}},
	}
	for _, p := range pages {
		a := s.get(t, "auditor-1", path+p.query)
		got := decodeAs[auditAnswer](t, a, http.StatusOK).Events
		if got == nil || len(got) != len(p.versions) {
			t.Fatalf("%s: %s", p.query, a.body)
		}
		for i, v := range p.versions {
			if got[i].Version != v {
				t.Fatalf("%s: %s", p.query, a.body)
			}
		}
	}

	wantError(t, s.get(t, "auditor-1", "/v1/audit/sessions/d:no:one/events"), http.StatusNotFound, "not_found")
	wantError(t, s.get(t, "auditor-1", "/v1/audit/sessions/not-a-session/events"), http.StatusBadRequest, "bad_request", "session id")
	for _, q := range []string{"fromVersion=-1", "fromVersion=x", "fromVersion=", "limit=0", "limit=1001", "limit=-5", "limit=many"} {
		param, _, _ := strings.Cut(q, "=")
		wantError(t, s.get(t, "auditor-1", path+"?"+q), http.StatusBadRequest, "bad_request", param)
	}
}
