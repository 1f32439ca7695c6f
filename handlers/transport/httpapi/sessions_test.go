package httpapi_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tellyou/tellyou/domain"
)

func TestSessionsListLatestActivityFirstWithWatermarks(t *testing.T) {
	t.Parallel()
	s := newServer(t, serverOptions{})
	d := s.sendTo(t, "ann", "bob", "one").SessionID
	s.Clock.Advance(time.Second)
	s.send(t, "ann", d, "two")
	three := s.send(t, "ann", d, "three")
	s.ack(t, "bob", d, 2, domain.AckReceived)
	s.ack(t, "bob", d, 1, domain.AckRead)
	s.recall(t, "ann", d, three.MessageID)
	s.Clock.Advance(time.Second)
	g := s.group(t, "cat", "Book club", "bob")
	s.send(t, "cat", g, "hi all")
	s.CaughtUp(t)

	a := s.get(t, "bob", "/v1/sessions")
	list := decodeAs[sessionList](t, a, http.StatusOK)
	if len(list.Sessions) != 2 || list.Sessions[0].SessionID != g || list.Sessions[1].SessionID != d {
		t.Fatalf("bob's sessions = %s; want the group (latest activity) then the direct session", a.body)
	}
	grp, dir := list.Sessions[0], list.Sessions[1]
	if grp.Kind != "group" || grp.Title != "Book club" || grp.Owner != "cat" || !slices.Equal(grp.Members, []string{"bob", "cat"}) ||
		grp.LastSeq != 1 || grp.LastMessage == nil || grp.LastMessage.Content != "hi all" || grp.LastMessage.SenderID != "cat" ||
		grp.ReceivedSeq != 0 || grp.ReadSeq != 0 || grp.UnreadCount != 1 {
		t.Fatalf("group entry = %+v", grp)
	}
	// Seq 3 is recalled: it is the last message, with empty content, and not unread.
	if dir.Kind != "direct" || dir.Title != "" || dir.Owner != "" || !slices.Equal(dir.Members, []string{"ann", "bob"}) ||
		dir.LastSeq != 3 || dir.LastMessage == nil || dir.LastMessage.Seq != 3 || !dir.LastMessage.Recalled || dir.LastMessage.Content != "" ||
		dir.ReceivedSeq != 2 || dir.ReadSeq != 1 || dir.UnreadCount != 1 {
		t.Fatalf("direct entry = %+v, last message %+v", dir, dir.LastMessage)
	}
	for _, entry := range decodeAs[struct {
		Sessions []json.RawMessage `json:"sessions"`
	}](t, a, http.StatusOK).Sessions {
		wantKeys(t, entry, sessionKeys...)
	}

	ann := decodeAs[sessionList](t, s.get(t, "ann", "/v1/sessions"), http.StatusOK)
	if len(ann.Sessions) != 1 || ann.Sessions[0].UnreadCount != 0 || ann.Sessions[0].ReadSeq != 0 {
		t.Fatalf("ann's sessions = %+v; her own messages are never unread", ann.Sessions)
	}
	if a := s.get(t, "zed", "/v1/sessions"); a.status != http.StatusOK || strings.TrimSpace(string(a.body)) != `{"sessions":[]}` {
		t.Fatalf("a user with no sessions gets %d %s, want an empty list", a.status, a.body)
	}
}

func TestCreateGroup(t *testing.T) {
	t.Parallel()
	s := newServer(t, serverOptions{})
	a := s.post(t, "ann", "/v1/sessions", `{"title":"Planning","members":["bob","carl","bob","ann"],"color":"unknown fields are fine"}`)
	created := decodeAs[wireSession](t, a, http.StatusCreated)
	wantKeys(t, a.body, sessionKeys...)
	if kind, err := domain.SessionKind(created.SessionID); err != nil || kind != "group" {
		t.Fatalf("sessionId %q is not a group id", created.SessionID)
	}
	if created.Kind != "group" || created.Title != "Planning" || created.Owner != "ann" ||
		!slices.Equal(created.Members, []string{"ann", "bob", "carl"}) || created.LastSeq != 0 || created.LastMessage != nil ||
		created.ReceivedSeq != 0 || created.ReadSeq != 0 || created.UnreadCount != 0 {
		t.Fatalf("created group = %s", a.body)
	}
	s.CaughtUp(t)
	list := decodeAs[sessionList](t, s.get(t, "bob", "/v1/sessions"), http.StatusOK)
	if len(list.Sessions) != 1 || list.Sessions[0].SessionID != created.SessionID || !slices.Equal(list.Sessions[0].Members, created.Members) ||
		list.Sessions[0].Title != "Planning" || list.Sessions[0].Owner != "ann" {
		t.Fatalf("bob's sessions after the creation = %+v", list.Sessions)
	}
	// A group of the creator alone is allowed.
	if a := s.post(t, "ann", "/v1/sessions", `{}`); a.status != http.StatusCreated {
		t.Fatalf("creating a group with no other members: %d %s", a.status, a.body)
	}

	manyMembers := make([]string, 1000)
	for i := range manyMembers {
		manyMembers[i] = "user" + strconv.Itoa(i)
	}
	bad := []struct {
		name   string
		body   any
		status int
		code   string
		words  []string
	}{
		{"empty body", "", 400, "bad_request", []string{"empty"}},
		{"whitespace body", "  \n ", 400, "bad_request", []string{"empty"}},
		{"malformed JSON", `{"title":`, 400, "bad_request", []string{"malformed JSON"}},
		{"broken JSON", `{"title" "x"}`, 400, "bad_request", []string{"malformed JSON"}},
		{"a list", `["bob"]`, 400, "bad_request", []string{"JSON object"}},
		{"null", `null`, 400, "bad_request", []string{"JSON object"}},
		{"a string", `"title"`, 400, "bad_request", []string{"JSON object"}},
		{"title of the wrong type", `{"title":5}`, 400, "bad_request", []string{`"title"`, "string"}},
		{"members not a list", `{"members":"bob"}`, 400, "bad_request", []string{`"members"`}},
		{"member not a string", `{"members":[1]}`, 400, "bad_request", []string{"members"}},
		{"trailing object", `{"title":"a"} {"title":"b"}`, 400, "bad_request", []string{"after the JSON object"}},
		{"trailing garbage", `{"title":"a"}x`, 400, "bad_request", []string{"after the JSON object"}},
		{"trailing bracket", `{"title":"a"}]`, 400, "bad_request", []string{"after the JSON object"}},
		{"invalid member id", `{"members":["bob","not valid!"]}`, 400, "bad_request", []string{"members[1]"}},
		{"empty member id", `{"members":[""]}`, 400, "bad_request", []string{"members[0]"}},
		{"title too long", map[string]any{"title": strings.Repeat("t", 201)}, 400, "bad_request", []string{"title"}},
		{"NUL in title", `{"title":"a\u0000b"}`, 400, "bad_request", []string{"NUL"}},
		{"too many members", map[string]any{"members": manyMembers}, 400, "bad_request", []string{"at most 1000"}},
		{"body over 64 KiB", map[string]any{"title": strings.Repeat("x", 65<<10)}, 413, "too_large", []string{"65536"}},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			wantError(t, s.post(t, "ann", "/v1/sessions", tc.body), tc.status, tc.code, tc.words...)
		})
	}
	s.CaughtUp(t)
	if list := decodeAs[sessionList](t, s.get(t, "ann", "/v1/sessions"), http.StatusOK); len(list.Sessions) != 2 {
		t.Fatalf("refused creations created something: ann has %d sessions, want 2", len(list.Sessions))
	}
}

func TestChangeMembers(t *testing.T) {
	t.Parallel()
	s := newServer(t, serverOptions{})
	g := decodeAs[wireSession](t, s.post(t, "ann", "/v1/sessions", map[string]any{"title": "t", "members": []string{"bob"}}), http.StatusCreated).SessionID
	d := s.sendTo(t, "ann", "bob", "hello").SessionID
	path := "/v1/sessions/" + g + "/members"

	a := s.post(t, "ann", path, `{"add":["carl","dave"],"remove":["bob"]}`)
	after := decodeAs[wireSession](t, a, http.StatusOK)
	wantKeys(t, a.body, sessionKeys...)
	if after.SessionID != g || after.Owner != "ann" || !slices.Equal(after.Members, []string{"ann", "carl", "dave"}) {
		t.Fatalf("group after the change = %s", a.body)
	}
	// Removing a non-member changes nothing and is no error.
	a = s.post(t, "ann", path, `{"remove":["dave","nobody"]}`)
	if got := decodeAs[wireSession](t, a, http.StatusOK).Members; !slices.Equal(got, []string{"ann", "carl"}) {
		t.Fatalf("members after removing dave = %v", got)
	}

	cases := []struct {
		name, user, path string
		body             any
		status           int
		code             string
	}{
		{"a member who is not the owner", "carl", path, `{"add":["erin"]}`, 403, "forbidden"},
		{"a removed member", "bob", path, `{"add":["erin"]}`, 403, "forbidden"},
		{"an outsider", "zed", path, `{"remove":["carl"]}`, 403, "forbidden"},
		{"an unknown group", "ann", "/v1/sessions/g:5f0c7e3e-6d1a-4c1e-9a51-0d6f3a6a1b2c/members", `{"add":["erin"]}`, 404, "not_found"},
		{"an unknown direct session", "ann", "/v1/sessions/d:ann:zed/members", `{"add":["erin"]}`, 404, "not_found"},
		{"a malformed session id", "ann", "/v1/sessions/nonsense/members", `{"add":["erin"]}`, 400, "bad_request"},
		{"a direct session", "ann", "/v1/sessions/" + d + "/members", `{"add":["erin"]}`, 400, "bad_request"},
		{"nothing to change", "ann", path, `{}`, 400, "bad_request"},
		{"the owner removing herself", "ann", path, `{"remove":["ann"]}`, 400, "bad_request"},
		{"an invalid user id", "ann", path, `{"add":["no spaces"]}`, 400, "bad_request"},
		{"malformed JSON", "ann", path, `{"add":`, 400, "bad_request"},
		{"add of the wrong type", "ann", path, `{"add":"erin"}`, 400, "bad_request"},
		{"body over 64 KiB", "ann", path, map[string]any{"add": []string{strings.Repeat("x", 65<<10)}}, 413, "too_large"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			wantError(t, s.post(t, tc.user, tc.path, tc.body), tc.status, tc.code)
		})
	}

	s.CaughtUp(t)
	if list := decodeAs[sessionList](t, s.get(t, "carl", "/v1/sessions"), http.StatusOK); len(list.Sessions) != 1 || list.Sessions[0].SessionID != g {
		t.Fatalf("carl's sessions = %+v, want the group", list.Sessions)
	}
	if list := decodeAs[sessionList](t, s.get(t, "bob", "/v1/sessions"), http.StatusOK); len(list.Sessions) != 1 || list.Sessions[0].SessionID != d {
		t.Fatalf("bob's sessions = %+v, want only the direct session", list.Sessions)
	}
}
