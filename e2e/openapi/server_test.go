package openapi_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/tellyou/tellyou/cmd/tellyou/servertest"
	"github.com/tellyou/tellyou/events/pgstore/pgtest"
	"github.com/tellyou/tellyou/handlers/transport/auth"
)

const serverSecret = "openapi-test-secret-0123456789abcdef"

// world is what the scenario made on the server: users' tokens, a direct
// session, a group and messages in both.
type world struct {
	ann, bob, cat, auditor string // tokens; ann owns the group, bob is in it, cat is in nothing
	direct, group          string
	firstGroupMessage      string // its message id
	unknownGroup           string
}

// TestServerMatchesDescription starts the real server with dev login on,
// drives every route of the description, error answers included, and
// validates each request and answer against it.
func TestServerMatchesDescription(t *testing.T) {
	doc := loadDescription(t)
	node := servertest.Start(t, binary, "openapi", "TELLYOU_DEV_LOGIN=1",
		"TELLYOU_DATABASE_URL="+pgtest.NewDatabase(t), "TELLYOU_JWT_SECRET="+serverSecret)
	c := newChecker(t, doc, node.Base)
	w := setUp(t, c)

	t.Run("operations", func(t *testing.T) { checkOperations(t, c) })
	t.Run("sessions", func(t *testing.T) { checkSessions(t, c, w) })
	t.Run("changeMembers", func(t *testing.T) { checkChangeMembers(t, c, w) })
	t.Run("updateMemberSettings", func(t *testing.T) { checkMute(t, c, w) })
	t.Run("setSessionSettings", func(t *testing.T) { checkSessionSettings(t, c, w) })
	t.Run("listMessages", func(t *testing.T) { checkMessages(t, c, w) })
	t.Run("inbox and unread", func(t *testing.T) { checkInboxAndUnread(t, c, w) })
	t.Run("audit", func(t *testing.T) { checkAudit(t, c, w) })
	t.Run("feed", func(t *testing.T) { checkFeed(t, c, w) })
	t.Run("websocket", func(t *testing.T) { checkWebSocket(t, c, w) })
	t.Run("web client", func(t *testing.T) { checkWebClient(t, c) })
	t.Run("dev token", func(t *testing.T) { checkDevToken(t, c) })
	t.Run("listMembers (draft)", func(t *testing.T) { checkListMembers(t, c, w) })
	t.Run("getPresence (draft)", func(t *testing.T) { checkPresence(t, c, w) })
	t.Run("searchMessages (draft)", func(t *testing.T) { checkSearch(t, c, w) })
	t.Run("erasure", func(t *testing.T) { checkErasure(t, c, w) })

	pathValues := map[string]string{"id": url.PathEscape(w.group), "file": "app.css", "module": "main.js"}
	t.Run("route list", func(t *testing.T) { c.checkRouteList(t, pathValues) })
	t.Run("allowed methods", func(t *testing.T) { c.checkAllowedMethods(t, pathValues) })
	if t.Failed() {
		return // the failures above say more than the coverage would
	}
	c.checkCoverage(t)
}

// setUp mints the users' tokens, creates a group over HTTP and sends
// messages over the WebSocket.
func setUp(t *testing.T, c *checker) world {
	t.Helper()
	w := world{
		ann: mint(t, "ann"), bob: mint(t, "bob"), cat: mint(t, "cat"), auditor: mint(t, "audra", auth.RoleAuditor),
		direct: "d:ann:bob", unknownGroup: "g:" + uuid.NewString(),
	}
	created := c.do(t, call{method: http.MethodPost, path: "/v1/sessions", token: w.ann,
		body: `{"title":"team","members":["bob"]}`, status: http.StatusCreated})
	w.group = decode[struct{ SessionID string }](t, created).SessionID

	ws := c.dialWS(t, w.ann)
	now := time.Now().UnixMilli()
	ws.send(t, map[string]any{"type": "send", "id": "f1", "toUserId": "bob", "messageType": 1, "content": "hello bob",
		"clientMessageId": "m1", "clientTimestamp": now})
	first := ws.send(t, map[string]any{"type": "send", "id": "f2", "sessionId": w.group, "messageType": 1,
		"content": "hello team", "clientMessageId": "m2", "clientTimestamp": now, "ext": map[string]any{"mentions": []string{"bob"}}})
	w.firstGroupMessage = first.MessageID
	// A reply, for when sends carry replyTo; until then the field is ignored.
	ws.send(t, map[string]any{"type": "send", "id": "f3", "sessionId": w.group, "messageType": 1,
		"content": "hello again", "clientMessageId": "m3", "clientTimestamp": now, "replyTo": first.MessageID})
	return w
}

func mint(t *testing.T, user string, roles ...string) string {
	t.Helper()
	token, err := auth.Mint([]byte(serverSecret), auth.Principal{UserID: user, Roles: roles}, time.Now(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return token
}

func sessionPath(id, rest string) string { return "/v1/sessions/" + url.PathEscape(id) + rest }

func checkOperations(t *testing.T, c *checker) {
	a := c.do(t, call{method: http.MethodGet, path: "/healthz", status: http.StatusOK, header: map[string]string{"X-Request-Id": "openapi.check-1"}})
	if got := a.header.Get("X-Request-Id"); got != "openapi.check-1" {
		t.Errorf("X-Request-Id %q, want the client's openapi.check-1", got)
	}
	// An id the server does not take is replaced, not refused.
	a = c.do(t, call{method: http.MethodGet, path: "/healthz", status: http.StatusOK, header: map[string]string{"X-Request-Id": "not a valid id"}})
	if got := a.header.Get("X-Request-Id"); got == "not a valid id" || got == "" {
		t.Errorf("X-Request-Id %q, want a fresh id", got)
	}
	c.do(t, call{method: http.MethodGet, path: "/readyz", status: http.StatusOK})
	c.do(t, call{method: http.MethodGet, path: "/metrics", status: http.StatusOK})
}

func checkSessions(t *testing.T, c *checker, w world) {
	c.do(t, call{method: http.MethodGet, path: "/v1/sessions", token: w.ann, status: http.StatusOK})
	c.do(t, call{method: http.MethodGet, path: "/v1/sessions", token: w.cat, status: http.StatusOK})
	c.do(t, call{method: http.MethodGet, path: "/v1/sessions", status: http.StatusUnauthorized, invalid: true})
	c.do(t, call{method: http.MethodGet, path: "/v1/sessions", token: "not-a-jwt", status: http.StatusUnauthorized})

	const post = http.MethodPost
	c.do(t, call{method: post, path: "/v1/sessions", token: w.bob, body: `{}`, status: http.StatusCreated})
	c.do(t, call{method: post, path: "/v1/sessions", token: w.ann, body: `{"members":"bob"}`, status: http.StatusBadRequest, invalid: true})
	c.do(t, call{method: post, path: "/v1/sessions", token: w.ann, body: `{"members":["no spaces"]}`, status: http.StatusBadRequest, invalid: true})
	c.do(t, call{method: post, path: "/v1/sessions", token: w.ann, body: `[]`, status: http.StatusBadRequest, invalid: true})
	c.do(t, call{method: post, path: "/v1/sessions", token: w.ann, body: `{"title":"` + strings.Repeat("t", 70<<10) + `"}`, status: http.StatusRequestEntityTooLarge})
	c.do(t, call{method: post, path: "/v1/sessions", body: `{}`, status: http.StatusUnauthorized, invalid: true})
}

func checkChangeMembers(t *testing.T, c *checker, w world) {
	const post = http.MethodPost
	members := sessionPath(w.group, "/members")
	c.do(t, call{method: post, path: members, token: w.ann, body: `{"add":["dan"]}`, status: http.StatusOK})
	c.do(t, call{method: post, path: members, token: w.ann, body: `{"remove":["dan"]}`, status: http.StatusOK})
	c.do(t, call{method: post, path: members, token: w.ann, body: `{}`, status: http.StatusBadRequest})
	c.do(t, call{method: post, path: members, token: w.ann, body: `{"remove":["ann"]}`, status: http.StatusBadRequest})
	c.do(t, call{method: post, path: members, token: w.ann, body: `{"add":"dan"}`, status: http.StatusBadRequest, invalid: true})
	c.do(t, call{method: post, path: members, token: w.bob, body: `{"add":["eve"]}`, status: http.StatusForbidden})
	c.do(t, call{method: post, path: members, token: w.cat, body: `{"add":["eve"]}`, status: http.StatusForbidden})
	c.do(t, call{method: post, path: sessionPath(w.unknownGroup, "/members"), token: w.ann, body: `{"add":["eve"]}`, status: http.StatusNotFound})
	c.do(t, call{method: post, path: sessionPath(w.direct, "/members"), token: w.ann, body: `{"add":["eve"]}`, status: http.StatusBadRequest})
	c.do(t, call{method: post, path: sessionPath("nope", "/members"), token: w.ann, body: `{"add":["eve"]}`, status: http.StatusBadRequest, invalid: true})
	c.do(t, call{method: post, path: members, body: `{"add":["eve"]}`, status: http.StatusUnauthorized, invalid: true})
}

func checkMessages(t *testing.T, c *checker, w world) {
	const get = http.MethodGet
	messages := sessionPath(w.group, "/messages")
	page := c.do(t, call{method: get, path: messages, token: w.ann, status: http.StatusOK})
	if got := len(decode[struct{ Messages []any }](t, page).Messages); got != 2 {
		t.Errorf("the group's history holds %d messages, want 2: %s", got, page.body)
	}
	c.do(t, call{method: get, path: sessionPath(w.direct, "/messages"), token: w.bob, status: http.StatusOK})
	c.do(t, call{method: get, path: messages + "?afterSeq=1&limit=1", token: w.ann, status: http.StatusOK})
	c.do(t, call{method: get, path: messages + "?beforeSeq=2", token: w.ann, status: http.StatusOK})
	c.do(t, call{method: get, path: messages + "?markRead=true", token: w.bob, status: http.StatusOK})
	c.do(t, call{method: get, path: messages + "?replyTo=" + w.firstGroupMessage, token: w.ann, status: http.StatusOK})

	for _, query := range []string{"limit=0", "limit=201", "limit=abc", "afterSeq=-1", "beforeSeq=0", "markRead=maybe"} {
		c.do(t, call{method: get, path: messages + "?" + query, token: w.ann, status: http.StatusBadRequest, invalid: true})
	}
	c.do(t, call{method: get, path: messages, token: w.cat, status: http.StatusForbidden})
	c.do(t, call{method: get, path: sessionPath(w.unknownGroup, "/messages"), token: w.ann, status: http.StatusNotFound})
	c.do(t, call{method: get, path: sessionPath("d:ann:zed", "/messages"), token: w.ann, status: http.StatusNotFound})
	c.do(t, call{method: get, path: sessionPath("nope", "/messages"), token: w.ann, status: http.StatusBadRequest, invalid: true})
	c.do(t, call{method: get, path: messages, status: http.StatusUnauthorized, invalid: true})
}

func checkInboxAndUnread(t *testing.T, c *checker, w world) {
	const get = http.MethodGet
	c.do(t, call{method: get, path: "/v1/inbox", token: w.bob, status: http.StatusOK})
	c.do(t, call{method: get, path: "/v1/inbox?limit=500", token: w.bob, status: http.StatusOK})
	c.do(t, call{method: get, path: "/v1/inbox?limit=501", token: w.bob, status: http.StatusBadRequest, invalid: true})
	c.do(t, call{method: get, path: "/v1/inbox", status: http.StatusUnauthorized, invalid: true})
	c.do(t, call{method: get, path: "/v1/unread", token: w.bob, status: http.StatusOK})
	c.do(t, call{method: get, path: "/v1/unread", token: w.cat, status: http.StatusOK})
	c.do(t, call{method: get, path: "/v1/unread", status: http.StatusUnauthorized, invalid: true})
	c.do(t, call{method: get, path: "/v1/users/me/export", token: w.ann, status: http.StatusOK})
	c.do(t, call{method: get, path: "/v1/users/me/export", token: w.cat, status: http.StatusOK})
	c.do(t, call{method: get, path: "/v1/users/me/export", status: http.StatusUnauthorized, invalid: true})
}

func checkAudit(t *testing.T, c *checker, w world) {
	const get = http.MethodGet
	events := "/v1/audit/sessions/" + url.PathEscape(w.group) + "/events"
	c.do(t, call{method: get, path: events, token: w.auditor, status: http.StatusOK})
	c.do(t, call{method: get, path: events + "?fromVersion=2&limit=1", token: w.auditor, status: http.StatusOK})
	c.do(t, call{method: get, path: "/v1/audit/sessions/" + url.PathEscape(w.direct) + "/events", token: w.auditor, status: http.StatusOK})
	c.do(t, call{method: get, path: events + "?limit=0", token: w.auditor, status: http.StatusBadRequest, invalid: true})
	c.do(t, call{method: get, path: events + "?fromVersion=-1", token: w.auditor, status: http.StatusBadRequest, invalid: true})
	c.do(t, call{method: get, path: events, token: w.ann, status: http.StatusForbidden})
	c.do(t, call{method: get, path: "/v1/audit/sessions/" + url.PathEscape(w.unknownGroup) + "/events", token: w.auditor, status: http.StatusNotFound})
	c.do(t, call{method: get, path: "/v1/audit/sessions/nope/events", token: w.auditor, status: http.StatusBadRequest, invalid: true})
	c.do(t, call{method: get, path: events, status: http.StatusUnauthorized, invalid: true})
}

func checkFeed(t *testing.T, c *checker, w world) {
	const get = http.MethodGet
	a := c.do(t, call{method: get, path: "/v1/feed?after=0", token: w.auditor, status: http.StatusOK, readBody: firstEvent})
	if !strings.HasPrefix(string(a.body), "id: ") {
		t.Errorf("the feed begins %q, want an event's id line", a.body)
	}
	c.do(t, call{method: get, path: "/v1/feed", token: w.auditor, header: map[string]string{"Last-Event-ID": "1"},
		status: http.StatusOK, readBody: firstEvent})
	c.do(t, call{method: get, path: "/v1/feed?token=" + w.auditor, status: http.StatusOK, readBody: firstEvent})
	c.do(t, call{method: get, path: "/v1/feed?after=-1", token: w.auditor, status: http.StatusBadRequest, invalid: true})
	c.do(t, call{method: get, path: "/v1/feed", token: w.auditor, header: map[string]string{"Last-Event-ID": "x"},
		status: http.StatusBadRequest, invalid: true})
	c.do(t, call{method: get, path: "/v1/feed", token: w.ann, status: http.StatusForbidden})
	c.do(t, call{method: get, path: "/v1/feed", status: http.StatusUnauthorized, invalid: true})
}

func checkWebSocket(t *testing.T, c *checker, w world) {
	handshake := map[string]string{"Connection": "Upgrade", "Upgrade": "websocket",
		"Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Version": "13"}
	with := func(k, v string) map[string]string {
		h := map[string]string{k: v}
		for name, value := range handshake {
			if name != k {
				h[name] = value
			}
		}
		return h
	}
	const get = http.MethodGet
	c.do(t, call{method: get, path: "/v1/ws", header: handshake, status: http.StatusUnauthorized, invalid: true})
	c.do(t, call{method: get, path: "/v1/ws", token: w.cat, status: http.StatusUpgradeRequired, invalid: true})
	c.do(t, call{method: get, path: "/v1/ws", token: w.cat, header: with("Sec-WebSocket-Version", "12"),
		status: http.StatusBadRequest, invalid: true})

	// A user holds at most 16 connections on a node (TELLYOU_MAX_CONNS_PER_USER).
	for range 16 {
		c.dialWS(t, w.cat)
	}
	c.do(t, call{method: get, path: "/v1/ws?token=" + w.cat, header: handshake, status: http.StatusTooManyRequests})
}

func checkWebClient(t *testing.T, c *checker) {
	const get = http.MethodGet
	page := c.do(t, call{method: get, path: "/", status: http.StatusOK})
	c.do(t, call{method: get, path: "/", header: map[string]string{"If-None-Match": page.header.Get("ETag")}, status: http.StatusNotModified})
	c.do(t, call{method: get, path: "/web/config.json", status: http.StatusOK})
	for _, file := range []string{"index.html", "app.css", "icon.svg"} {
		c.do(t, call{method: get, path: "/web/" + file, status: http.StatusOK})
	}
	c.do(t, call{method: get, path: "/web/nothing.css", status: http.StatusNotFound})
	c.do(t, call{method: get, path: "/web/js/main.js", status: http.StatusOK})
	c.do(t, call{method: get, path: "/web/js/nothing.js", status: http.StatusNotFound})
}

func checkDevToken(t *testing.T, c *checker) {
	const post = http.MethodPost
	a := c.do(t, call{method: post, path: "/v1/dev/token", body: `{"user":"dev-user"}`, status: http.StatusOK})
	token := decode[struct{ Token string }](t, a).Token
	c.do(t, call{method: http.MethodGet, path: "/v1/sessions", token: token, status: http.StatusOK})

	c.do(t, call{method: post, path: "/v1/dev/token", body: `{}`, status: http.StatusBadRequest, invalid: true})
	c.do(t, call{method: post, path: "/v1/dev/token", body: `{"user":"no spaces"}`, status: http.StatusBadRequest, invalid: true})
	c.do(t, call{method: post, path: "/v1/dev/token", body: `["dev-user"]`, status: http.StatusBadRequest, invalid: true})
	c.do(t, call{method: post, path: "/v1/dev/token", body: `{"user":"` + strings.Repeat("u", 2000) + `"}`,
		status: http.StatusRequestEntityTooLarge, invalid: true})
}

func checkListMembers(t *testing.T, c *checker, w world) {
	const get = http.MethodGet
	members := sessionPath(w.group, "/members")
	c.draftPending(t, "GET /v1/sessions/{id}/members", members)
	c.do(t, call{method: get, path: members, token: w.ann, status: http.StatusOK})
	c.do(t, call{method: get, path: sessionPath(w.direct, "/members"), token: w.bob, status: http.StatusOK})
	c.do(t, call{method: get, path: members, token: w.cat, status: http.StatusForbidden})
	c.do(t, call{method: get, path: sessionPath(w.unknownGroup, "/members"), token: w.ann, status: http.StatusNotFound})
	c.do(t, call{method: get, path: members, status: http.StatusUnauthorized, invalid: true})
}

func checkPresence(t *testing.T, c *checker, w world) {
	const get = http.MethodGet
	c.draftPending(t, "GET /v1/presence", "/v1/presence?users=bob")
	c.do(t, call{method: get, path: "/v1/presence?users=bob,ann", token: w.ann, status: http.StatusOK})
	c.do(t, call{method: get, path: "/v1/presence", token: w.ann, status: http.StatusBadRequest, invalid: true})
	c.do(t, call{method: get, path: "/v1/presence?users=no%20spaces", token: w.ann, status: http.StatusBadRequest, invalid: true})
	c.do(t, call{method: get, path: "/v1/presence?users=bob", status: http.StatusUnauthorized, invalid: true})
}

func checkSearch(t *testing.T, c *checker, w world) {
	const get = http.MethodGet
	c.draftPending(t, "GET /v1/search", "/v1/search?q=hello")
	c.do(t, call{method: get, path: "/v1/search?q=hello", token: w.ann, status: http.StatusOK})
	c.do(t, call{method: get, path: "/v1/search?q=hello&limit=1&sessionId=" + url.QueryEscape(w.group), token: w.ann, status: http.StatusOK})
	c.do(t, call{method: get, path: "/v1/search", token: w.ann, status: http.StatusBadRequest, invalid: true})
	c.do(t, call{method: get, path: "/v1/search?q=hello&limit=0", token: w.ann, status: http.StatusBadRequest, invalid: true})
	c.do(t, call{method: get, path: "/v1/search?q=hello&before=not-a-cursor", token: w.ann, status: http.StatusBadRequest})
	c.do(t, call{method: get, path: "/v1/search?q=hello&sessionId=" + url.QueryEscape(w.group), token: w.cat, status: http.StatusForbidden})
	c.do(t, call{method: get, path: "/v1/search?q=hello&sessionId=" + url.QueryEscape(w.unknownGroup), token: w.ann, status: http.StatusNotFound})
	c.do(t, call{method: get, path: "/v1/search?q=hello", status: http.StatusUnauthorized, invalid: true})
}

func checkSessionSettings(t *testing.T, c *checker, w world) {
	const patch = http.MethodPatch
	group := sessionPath(w.group, "")
	c.do(t, call{method: patch, path: group, token: w.ann, body: `{"retentionDays":30}`, status: http.StatusOK})
	c.do(t, call{method: patch, path: group, token: w.ann, body: `{"retentionDays":null}`, status: http.StatusOK})
	c.do(t, call{method: patch, path: sessionPath(w.direct, ""), token: w.bob, body: `{"retentionDays":7}`, status: http.StatusOK})
	for _, body := range []string{`{"retentionDays":0}`, `{"retentionDays":36501}`} {
		c.do(t, call{method: patch, path: group, token: w.ann, body: body, status: http.StatusBadRequest, invalid: true})
	}
	for _, body := range []string{`{"retentionDays":"30"}`, `{"retentionDays":30,"x":1}`, `{}`} {
		c.do(t, call{method: patch, path: group, token: w.ann, body: body, status: http.StatusBadRequest, invalid: true})
	}
	c.do(t, call{method: patch, path: group, token: w.bob, body: `{"retentionDays":3}`, status: http.StatusForbidden})
	c.do(t, call{method: patch, path: group, token: w.cat, body: `{"retentionDays":3}`, status: http.StatusForbidden})
	c.do(t, call{method: patch, path: sessionPath(w.unknownGroup, ""), token: w.ann, body: `{"retentionDays":3}`, status: http.StatusNotFound})
	c.do(t, call{method: patch, path: group, body: `{"retentionDays":3}`, status: http.StatusUnauthorized, invalid: true})
}
