package httpapi_test

import (
	"net/http"
	"strings"
	"testing"
)

func TestUnknownRoutesAndWrongMethodsAnswerJSON(t *testing.T) {
	t.Parallel()
	s := newServer(t, serverOptions{})
	notFound := []struct{ method, path string }{
		{http.MethodGet, "/"},
		{http.MethodGet, "/nope"},
		{http.MethodGet, "/v1"},
		{http.MethodGet, "/v1/ws"}, // served by the gateway, not here
		{http.MethodGet, "/v1/sessions/d:ann:bob/unknown"},
		{http.MethodGet, "/v1/sessions/"},
		{http.MethodPost, "/v1/nope"},
	}
	for _, r := range notFound {
		// No token: an unknown route is not found, whoever asks.
		wantError(t, s.do(t, request{method: r.method, path: r.path}), http.StatusNotFound, "not_found")
		wantError(t, s.do(t, request{method: r.method, path: r.path, token: s.Token(t, "ann")}), http.StatusNotFound, "not_found")
	}
	wrongMethod := []struct{ method, path, allow string }{
		{http.MethodDelete, "/v1/sessions", "GET, HEAD, POST"},
		{http.MethodPut, "/v1/sessions", "GET, HEAD, POST"},
		{http.MethodPost, "/v1/inbox", "GET, HEAD"},
		{http.MethodPut, "/v1/sessions/d:ann:bob/members", "GET, HEAD, POST"},
		{http.MethodPost, "/v1/sessions/d:ann:bob/messages", "GET, HEAD"},
		{http.MethodPost, "/v1/feed", "GET, HEAD"},
		{http.MethodDelete, "/healthz", "GET, HEAD"},
		{http.MethodPost, "/metrics", "GET, HEAD"},
		{http.MethodGet, "/v1/sessions/d:ann:bob", "PATCH"},
	}
	for _, r := range wrongMethod {
		a := s.do(t, request{method: r.method, path: r.path, token: s.Token(t, "ann")})
		wantError(t, a, http.StatusMethodNotAllowed, "bad_request", r.method)
		if got := a.header.Get("Allow"); got != r.allow {
			t.Errorf("%s %s: Allow %q, want %q", r.method, r.path, got, r.allow)
		}
	}
}

func TestOddContentComesBackVerbatim(t *testing.T) {
	t.Parallel()
	s := newServer(t, serverOptions{})
	odd := []string{
		`'; DROP TABLE rm_messages; --`,
		`Robert'); DELETE FROM tellyou_events WHERE ('1'='1`,
		`" OR 1=1 -- \' \\ %00 %s %d $1 ::text`,
		"<script>alert('x')</script> & &amp;",
		"👩‍👩‍👧‍👦 family, 🏳️‍🌈 flag, e\u0301 combined, 𝕋𝕖𝕝𝕝 math",
		"\u202Eright-to-left override\u202C and \u200B zero width and \uFEFF BOM",
		"line\u2028separator\u2029paragraph\r\n\ttabs and \x01\x1f controls",
		"\uFFFD replacement, \U0010FFFF last code point, 中文, العربية",
		strings.Repeat("€", 2000),
	}
	title := "'; DROP TABLE rm_sessions; -- 👩‍👩‍👧 \u202E"
	a := s.post(t, "ann", "/v1/sessions", map[string]any{"title": title, "members": []string{"bob"}})
	g := decodeAs[wireSession](t, a, http.StatusCreated)
	if g.Title != title {
		t.Fatalf("created title %q, want %q", g.Title, title)
	}
	for _, c := range odd {
		s.send(t, "ann", g.SessionID, c)
	}
	s.CaughtUp(t)

	page := decodeAs[messagePage](t, s.get(t, "bob", "/v1/sessions/"+g.SessionID+"/messages?limit=200"), http.StatusOK)
	inbox := decodeAs[inboxAnswer](t, s.get(t, "bob", "/v1/inbox"), http.StatusOK)
	if len(page.Messages) != len(odd) || len(inbox.Messages) != len(odd) {
		t.Fatalf("got %d messages and %d in the inbox, want %d", len(page.Messages), len(inbox.Messages), len(odd))
	}
	for i, c := range odd {
		if page.Messages[i].Content != c || inbox.Messages[i].Content != c {
			t.Errorf("message %d came back as %q / %q, want %q", i, page.Messages[i].Content, inbox.Messages[i].Content, c)
		}
	}
	list := decodeAs[sessionList](t, s.get(t, "bob", "/v1/sessions"), http.StatusOK)
	if len(list.Sessions) != 1 || list.Sessions[0].Title != title || list.Sessions[0].LastMessage.Content != odd[len(odd)-1] {
		t.Fatalf("session list = %+v", list.Sessions)
	}
}
