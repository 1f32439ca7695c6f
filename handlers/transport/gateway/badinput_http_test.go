package gateway_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/tellyou/tellyou/events"
	"github.com/tellyou/tellyou/handlers/transport/ws"
)

// httpBadInput is one request of the HTTP bad-input table and what must come
// of it.
type httpBadInput struct {
	name   string
	method string // GET when empty
	path   string
	// user is whose token the request carries ("audra" is an auditor); ann
	// when empty.
	user   string
	body   any // string as is, anything else as JSON, nil for none
	header map[string]string
	status int
	// code is the error code of a refusal; "" for a success.
	code string
	// events and streams are what a successful request appends.
	events, streams int64
	// check, when set, checks a success's answer and effect further.
	check func(t *testing.T, e *env, body []byte)
}

// httpAnswer is an HTTP answer read in full.
type httpAnswer struct {
	status int
	header http.Header
	body   []byte
}

// do sends a request to the gateway's server.
func (e *env) do(t *testing.T, method, path, token string, body any, header map[string]string) httpAnswer {
	t.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = strings.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		r = bytes.NewReader(raw)
	}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, e.srv.URL+path, r)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read answer: %v", method, path, err)
	}
	return httpAnswer{status: resp.StatusCode, header: resp.Header, body: b}
}

// wantRefusal checks a JSON refusal's status and code.
func wantRefusal(t *testing.T, name string, a httpAnswer, status int, code string) {
	t.Helper()
	var body struct{ Code, Message string }
	if err := json.Unmarshal(a.body, &body); err != nil || a.status != status || body.Code != code || body.Message == "" ||
		!strings.HasPrefix(a.header.Get("Content-Type"), "application/json") {
		t.Errorf("%s: %d %s (Content-Type %q), want %d with code %s", name, a.status, a.body, a.header.Get("Content-Type"), status, code)
	}
}

func TestBadInputOverHTTP(t *testing.T) {
	t.Parallel()
	e := newGuardedEnv(t, ws.Limits{})
	e.sendCmd(t, "ann", "d:ann:bob", "hello", "setup-1")
	annGroup := e.group(t, "ann", "bob")
	carlGroup := e.group(t, "carl", "dave")
	e.CaughtUp(t)

	cases := httpBadInputs(annGroup, carlGroup)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { e.runHTTPBadInput(t, c) })
	}
	e.CaughtUp(t)
	e.tablesIntact(t)
	t.Logf("ran %d bad-input cases over HTTP", len(cases))
}

// runHTTPBadInput sends one request and checks its answer and that only a
// success stored events.
func (e *env) runHTTPBadInput(t *testing.T, c httpBadInput) {
	before := e.storedCounts(t)
	user := c.user
	if user == "" {
		user = "ann"
	}
	token := e.Token(t, user)
	if user == "audra" {
		token = e.Token(t, user, "auditor")
	}
	method := c.method
	if method == "" {
		method = http.MethodGet
	}
	a := e.do(t, method, c.path, token, c.body, c.header)
	if a.status == http.StatusInternalServerError {
		t.Errorf("500 for a client's mistake: %s", a.body)
	}
	if c.code != "" {
		wantRefusal(t, c.name, a, c.status, c.code)
	} else if a.status != c.status {
		t.Errorf("%d %s, want %d", a.status, a.body, c.status)
	} else if c.check != nil {
		c.check(t, e, a.body)
	}
	want := before
	if c.code == "" {
		want.events += c.events
		want.streams += c.streams
	}
	if after := e.storedCounts(t); after != want {
		t.Errorf("the log went from %+v to %+v, want %+v", before, after, want)
	}
}

// createdGroup checks a 201's group: its owner is ann whatever the body
// claimed, its id is fresh, and its stream holds the title as sent.
func createdGroup(title string) func(*testing.T, *env, []byte) {
	return func(t *testing.T, e *env, body []byte) {
		t.Helper()
		var g struct{ SessionID, Owner, Title string }
		if err := json.Unmarshal(body, &g); err != nil || g.Owner != "ann" || g.Title != title || !strings.HasPrefix(g.SessionID, "g:") {
			t.Errorf("created %s (%v), want ann's group titled %q", body, err, title)
			return
		}
		s := e.stream(t, g.SessionID)
		if c, ok := s[0].Payload.(events.SessionCreated); !ok || c.Title != title || c.Owner != "ann" {
			t.Errorf("stored %+v", s[0].Payload)
		}
	}
}

// httpBadInputs is the table. ann owns annGroup (with bob) and is no member
// of carlGroup; d:ann:bob has one message.
func httpBadInputs(annGroup, carlGroup string) []httpBadInput {
	const create = "/v1/sessions"
	members := "/v1/sessions/" + annGroup + "/members"
	history := "/v1/sessions/d:ann:bob/messages"
	audit := "/v1/audit/sessions/d:ann:bob/events"
	post := func(name, path string, body any, status int, code string) httpBadInput {
		return httpBadInput{name: name, method: http.MethodPost, path: path, body: body, status: status, code: code}
	}
	get := func(name, path string, status int, code string) httpBadInput {
		return httpBadInput{name: name, path: path, status: status, code: code}
	}
	bad, tooLarge := http.StatusBadRequest, http.StatusRequestEntityTooLarge
	long := strings.Repeat("a", 65)
	many := make([]string, 1001)
	for i := range many {
		many[i] = fmt.Sprintf("u%04d", i)
	}
	forged := "g:" + uuid.NewString()
	return []httpBadInput{
		// Bodies.
		post("truncated JSON", create, `{"title":`, bad, "bad_request"),
		post("body an array", create, `[]`, bad, "bad_request"),
		post("body null", create, `null`, bad, "bad_request"),
		post("empty body", create, ``, bad, "bad_request"),
		post("data after the object", create, `{"title":"t","members":["bob"]} {}`, bad, "bad_request"),
		post("members nested 100,000 deep", create, `{"title":"t","members":`+nested(100_000)+`}`, tooLarge, "too_large"),
		post("members nested 30,000 deep", create, `{"title":"t","members":`+nested(30_000)+`}`, bad, "bad_request"),
		post("unknown field nested 10,500 objects deep", create, `{"title":"t","x":`+strings.Repeat(`{"a":`, 10_500)+"1"+
			strings.Repeat("}", 10_500)+`}`, bad, "bad_request"),
		post("body over 64 KiB", create, map[string]any{"title": strings.Repeat("x", 65<<10)}, tooLarge, "too_large"),
		post("title a number", create, `{"title":5,"members":["bob"]}`, bad, "bad_request"),
		post("title 1e400", create, `{"title":1e400,"members":["bob"]}`, bad, "bad_request"),
		post("members a string", create, `{"title":"t","members":"bob"}`, bad, "bad_request"),
		post("members of numbers", create, `{"title":"t","members":[1]}`, bad, "bad_request"),
		post("member with a space", create, map[string]any{"title": "t", "members": []string{"bob smith"}}, bad, "bad_request"),
		post("member of 65 characters", create, map[string]any{"title": "t", "members": []string{long}}, bad, "bad_request"),
		post("member SQL", create, map[string]any{"title": "t", "members": []string{sqlText}}, bad, "bad_request"),
		{name: "invalid UTF-8 in title", method: http.MethodPost, path: create, body: "{\"title\":\"\xff\xfe\",\"members\":[\"bob\"]}",
			status: bad, code: "bad_request"},
		post("NUL in title", create, map[string]any{"title": "a\x00b", "members": []string{"bob"}}, bad, "bad_request"),
		post("title of 201 bytes", create, map[string]any{"title": strings.Repeat("t", 201), "members": []string{"bob"}}, bad, "bad_request"),
		post("1,001 members", create, map[string]any{"title": "t", "members": many}, bad, "bad_request"),
		{name: "body forging owner and id", method: http.MethodPost, path: create, status: http.StatusCreated, events: 1, streams: 1,
			body:  map[string]any{"title": "mine", "members": []string{"bob"}, "owner": "mallory", "sessionId": forged, "kind": "direct"},
			check: createdGroup("mine")},
		{name: "SQL as title", method: http.MethodPost, path: create, status: http.StatusCreated, events: 1, streams: 1,
			body: map[string]any{"title": sqlText, "members": []string{"bob"}}, check: createdGroup(sqlText)},

		{name: "SQL as X-Request-Id", method: http.MethodPost, path: create, status: http.StatusCreated, events: 1, streams: 1,
			body: map[string]any{"title": "t", "members": []string{"bob"}}, header: map[string]string{"X-Request-Id": sqlText},
			check: func(t *testing.T, e *env, body []byte) {
				var g struct{ SessionID string }
				_ = json.Unmarshal(body, &g)
				if s := e.stream(t, g.SessionID); len(s) != 1 || s[0].Meta.CorrelationID == sqlText || s[0].Meta.CorrelationID == "" {
					t.Errorf("correlation id of %s: %+v", g.SessionID, s)
				}
			}},

		// Members.
		post("members of an unknown group", "/v1/sessions/g:"+uuid.NewString()+"/members", map[string]any{"add": []string{"carl"}}, http.StatusNotFound, "not_found"),
		{name: "members changed by a member", method: http.MethodPost, path: members, user: "bob", body: map[string]any{"add": []string{"carl"}},
			status: http.StatusForbidden, code: "forbidden"},
		{name: "members changed by a stranger", method: http.MethodPost, path: "/v1/sessions/" + carlGroup + "/members", body: map[string]any{"add": []string{"ann"}},
			status: http.StatusForbidden, code: "forbidden"},
		post("members of a malformed id", "/v1/sessions/nope/members", map[string]any{"add": []string{"carl"}}, bad, "bad_request"),
		post("members of an SQL id", "/v1/sessions/"+url.PathEscape(sqlText)+"/members", map[string]any{"add": []string{"carl"}}, bad, "bad_request"),
		post("members of a direct session", "/v1/sessions/d:ann:bob/members", map[string]any{"add": []string{"carl"}}, bad, "bad_request"),
		post("add a user id with a space", members, map[string]any{"add": []string{"bob smith"}}, bad, "bad_request"),
		post("add a user id with NUL", members, map[string]any{"add": []string{"bob\x00"}}, bad, "bad_request"),
		post("add nothing", members, map[string]any{"add": []string{}, "remove": []string{}}, bad, "bad_request"),
		post("remove the owner", members, map[string]any{"remove": []string{"ann"}}, bad, "bad_request"),
		post("add a number", members, `{"add":5}`, bad, "bad_request"),

		// History paging.
		get("afterSeq -1", history+"?afterSeq=-1", bad, "bad_request"),
		get("afterSeq 1e400", history+"?afterSeq=1e400", bad, "bad_request"),
		get("afterSeq 2^64", history+"?afterSeq="+twoTo64, bad, "bad_request"),
		{name: "afterSeq max int64", path: history + "?afterSeq=" + maxInt64, status: http.StatusOK,
			check: func(t *testing.T, _ *env, body []byte) {
				if !bytes.Contains(body, []byte(`"messages":[]`)) || !bytes.Contains(body, []byte(`"hasMore":false`)) {
					t.Errorf("page after max int64: %s", body)
				}
			}},
		get("beforeSeq 0", history+"?beforeSeq=0", bad, "bad_request"),
		get("beforeSeq -1", history+"?beforeSeq=-1", bad, "bad_request"),
		get("beforeSeq 2^64", history+"?beforeSeq="+twoTo64, bad, "bad_request"),
		get("limit 0", history+"?limit=0", bad, "bad_request"),
		get("limit 201", history+"?limit=201", bad, "bad_request"),
		get("limit -1", history+"?limit=-1", bad, "bad_request"),
		get("limit not a number", history+"?limit=ten", bad, "bad_request"),
		get("limit empty", history+"?limit=", bad, "bad_request"),
		get("limit with NUL", history+"?limit=1%00", bad, "bad_request"),
		get("markRead not a boolean", history+"?markRead=maybe", bad, "bad_request"),
		get("malformed query", history+"?afterSeq=%zz", bad, "bad_request"),
		get("history of another's group", "/v1/sessions/"+carlGroup+"/messages", http.StatusForbidden, "forbidden"),
		get("history of an unknown group", "/v1/sessions/g:"+uuid.NewString()+"/messages", http.StatusNotFound, "not_found"),
		get("history of an unknown direct session", "/v1/sessions/d:ann:zed/messages", http.StatusNotFound, "not_found"),
		get("history of a malformed id", "/v1/sessions/d:bob:ann/messages", bad, "bad_request"),
		get("history of a session id with NUL", "/v1/sessions/d:ann:bob%00/messages", bad, "bad_request"),
		get("history of an SQL id", "/v1/sessions/"+url.PathEscape(sqlText)+"/messages", bad, "bad_request"),

		// Inbox, audit, feed.
		get("inbox limit -1", "/v1/inbox?limit=-1", bad, "bad_request"),
		get("inbox limit 2^64", "/v1/inbox?limit="+twoTo64, bad, "bad_request"),
		get("inbox limit 1e400", "/v1/inbox?limit=1e400", bad, "bad_request"),
		{name: "audit fromVersion -1", path: audit + "?fromVersion=-1", user: "audra", status: bad, code: "bad_request"},
		{name: "audit fromVersion 1e400", path: audit + "?fromVersion=1e400", user: "audra", status: bad, code: "bad_request"},
		{name: "audit fromVersion 2^64", path: audit + "?fromVersion=" + twoTo64, user: "audra", status: bad, code: "bad_request"},
		{name: "audit limit 0", path: audit + "?limit=0", user: "audra", status: bad, code: "bad_request"},
		{name: "audit fromVersion max int64", path: audit + "?fromVersion=" + maxInt64, user: "audra", status: http.StatusOK,
			check: func(t *testing.T, _ *env, body []byte) {
				if string(bytes.TrimSpace(body)) != `{"events":[]}` {
					t.Errorf("audit after max int64: %s", body)
				}
			}},
		{name: "audit of an SQL id", path: "/v1/audit/sessions/" + url.PathEscape(sqlText) + "/events", user: "audra", status: bad, code: "bad_request"},
		{name: "audit of an unknown session", path: "/v1/audit/sessions/d:ann:zed/events", user: "audra", status: http.StatusNotFound, code: "not_found"},
		get("audit by a non-auditor", audit, http.StatusForbidden, "forbidden"),
		{name: "feed after -1", path: "/v1/feed?after=-1", user: "audra", status: bad, code: "bad_request"},
		{name: "feed after 1e400", path: "/v1/feed?after=1e400", user: "audra", status: bad, code: "bad_request"},
		{name: "feed after 2^64", path: "/v1/feed?after=" + twoTo64, user: "audra", status: bad, code: "bad_request"},
		{name: "feed Last-Event-ID not a number", path: "/v1/feed", user: "audra", header: map[string]string{"Last-Event-ID": sqlText},
			status: bad, code: "bad_request"},
		get("feed by a non-auditor", "/v1/feed", http.StatusForbidden, "forbidden"),

		// Routes and methods.
		{name: "DELETE a collection", method: http.MethodDelete, path: create, status: http.StatusMethodNotAllowed, code: "bad_request"},
		{name: "PUT history", method: http.MethodPut, path: history, body: `{}`, status: http.StatusMethodNotAllowed, code: "bad_request"},
		get("unknown route", "/v1/sessions/d:ann:bob/secrets", http.StatusNotFound, "not_found"),
	}
}
