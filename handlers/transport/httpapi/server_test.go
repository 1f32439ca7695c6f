package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tellyou/tellyou/handlers/command"
	"github.com/tellyou/tellyou/handlers/handlerstest"
	"github.com/tellyou/tellyou/handlers/metrics"
	"github.com/tellyou/tellyou/handlers/transport/httpapi"
)

// requestTimeout only turns a hang into a failure; no test waits on it.
const requestTimeout = 30 * time.Second

// server is a full engine with the HTTP API on a loopback server.
type server struct {
	*handlerstest.Engine
	api     *httpapi.API
	metrics *metrics.Metrics
	url     string
	// ready is what /readyz's check returns.
	ready atomic.Pointer[func(context.Context) error]
}

type serverOptions struct {
	feedKeepAlive time.Duration
	feedBatch     int
}

func newServer(t *testing.T, opts serverOptions) *server {
	t.Helper()
	s := &server{Engine: handlerstest.New(t, handlerstest.Options{}), metrics: metrics.New()}
	ready := func(context.Context) error { return nil }
	s.ready.Store(&ready)
	api, err := httpapi.New(httpapi.Config{
		Commands: s.Commands, Queries: s.Queries, Store: s.Store, Secret: s.Secret, Metrics: s.metrics, Opener: s.Sealer,
		Ready:         func(ctx context.Context) error { return (*s.ready.Load())(ctx) },
		Logger:        slog.New(slog.NewTextHandler(testLog{t}, &slog.HandlerOptions{Level: slog.LevelDebug})),
		FeedKeepAlive: opts.feedKeepAlive,
		FeedBatch:     opts.feedBatch,
	})
	if err != nil {
		t.Fatal(err)
	}
	s.api = api
	srv := httptest.NewServer(api)
	s.url = srv.URL
	t.Cleanup(func() { api.CloseFeeds(); srv.Close() })
	return s
}

func (s *server) setReady(f func(context.Context) error) { s.ready.Store(&f) }

type testLog struct{ t *testing.T }

func (l testLog) Write(p []byte) (int, error) {
	l.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// answer is an HTTP answer read in full.
type answer struct {
	status int
	header http.Header
	body   []byte
}

// request describes one HTTP request of a test.
type request struct {
	method, path string
	token        string // sent as a Bearer token when not empty
	body         any    // string or []byte as is, anything else as JSON, nil for none
	header       map[string]string
}

func (s *server) do(t *testing.T, req request) answer {
	t.Helper()
	var body io.Reader
	switch b := req.body.(type) {
	case nil:
	case string:
		body = strings.NewReader(b)
	case []byte:
		body = bytes.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		body = bytes.NewReader(raw)
	}
	ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
	defer cancel()
	r, err := http.NewRequestWithContext(ctx, req.method, s.url+req.path, body)
	if err != nil {
		t.Fatal(err)
	}
	if req.token != "" {
		r.Header.Set("Authorization", "Bearer "+req.token)
	}
	for k, v := range req.header {
		r.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatalf("%s %s: %v", req.method, req.path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read answer: %v", req.method, req.path, err)
	}
	return answer{status: resp.StatusCode, header: resp.Header, body: raw}
}

// get is a GET as user (no token when user is empty).
func (s *server) get(t *testing.T, user, path string) answer {
	t.Helper()
	return s.do(t, request{method: http.MethodGet, path: path, token: s.tokenOf(t, user)})
}

// post is a POST of body as user.
func (s *server) post(t *testing.T, user, path string, body any) answer {
	t.Helper()
	return s.do(t, request{method: http.MethodPost, path: path, token: s.tokenOf(t, user), body: body})
}

// tokenOf mints a token; a user named "auditor..." holds the auditor role.
func (s *server) tokenOf(t *testing.T, user string) string {
	t.Helper()
	switch {
	case user == "":
		return ""
	case strings.HasPrefix(user, "auditor"):
		return s.Token(t, user, "auditor")
	default:
		return s.Token(t, user)
	}
}

// decodeAs decodes a successful answer's JSON body.
func decodeAs[T any](t *testing.T, a answer, wantStatus int) T {
	t.Helper()
	if a.status != wantStatus {
		t.Fatalf("status %d, want %d; body %s", a.status, wantStatus, a.body)
	}
	if ct := a.header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("Content-Type %q, want application/json", ct)
	}
	var v T
	if err := json.Unmarshal(a.body, &v); err != nil {
		t.Fatalf("decode %s: %v", a.body, err)
	}
	return v
}

// wireError is the JSON of every refusal.
type wireError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// wantError checks a refusal's status, code and that its message mentions
// every one of words; it returns the message.
func wantError(t *testing.T, a answer, status int, code string, words ...string) string {
	t.Helper()
	e := decodeAs[wireError](t, a, status)
	if e.Code != code {
		t.Fatalf("code %q, want %q (message %q)", e.Code, code, e.Message)
	}
	if e.Message == "" {
		t.Fatalf("empty error message for %s", code)
	}
	for _, w := range words {
		if !strings.Contains(e.Message, w) {
			t.Fatalf("message %q does not mention %q", e.Message, w)
		}
	}
	return e.Message
}

// Protocol shapes, spelled out here rather than borrowed from the server's
// types so that a renamed field fails the tests.
type (
	wireMessage struct {
		MessageID         string              `json:"messageId"`
		SessionID         string              `json:"sessionId"`
		Seq               int64               `json:"seq"`
		SenderID          string              `json:"senderId"`
		MessageType       int                 `json:"messageType"`
		Content           string              `json:"content"`
		Ext               json.RawMessage     `json:"ext"`
		ClientMessageID   string              `json:"clientMessageId"`
		ClientTimestamp   int64               `json:"clientTimestamp"`
		ServerTimestamp   int64               `json:"serverTimestamp"`
		AdjustedTimestamp int64               `json:"adjustedTimestamp"`
		Recalled          bool                `json:"recalled"`
		ReplyTo           string              `json:"replyTo"`
		EditedAt          int64               `json:"editedAt"`
		Reactions         map[string][]string `json:"reactions"`
	}
	wireSession struct {
		SessionID   string       `json:"sessionId"`
		Kind        string       `json:"kind"`
		Title       string       `json:"title"`
		Owner       string       `json:"owner"`
		Members     []string     `json:"members"`
		LastSeq     int64        `json:"lastSeq"`
		LastMessage *wireMessage `json:"lastMessage"`
		ReceivedSeq int64        `json:"receivedSeq"`
		ReadSeq     int64        `json:"readSeq"`
		UnreadCount int64        `json:"unreadCount"`
		Muted       bool         `json:"muted"`
		// RetentionDays is the session's own retention (null: the default).
		RetentionDays *int `json:"retentionDays"`
	}
	sessionList struct {
		Sessions []wireSession `json:"sessions"`
	}
	messagePage struct {
		Messages []wireMessage `json:"messages"`
		LastSeq  int64         `json:"lastSeq"`
		HasMore  bool          `json:"hasMore"`
	}
	inboxAnswer struct {
		Messages []wireMessage `json:"messages"`
	}
	unreadAnswer struct {
		Total    int64            `json:"total"`
		Sessions map[string]int64 `json:"sessions"`
	}
	auditEvent struct {
		StreamID       string          `json:"streamId"`
		Version        int64           `json:"version"`
		GlobalPosition int64           `json:"globalPosition"`
		Type           string          `json:"type"`
		Data           json.RawMessage `json:"data"`
		Metadata       json.RawMessage `json:"metadata"`
		Opened         *auditOpened    `json:"opened"`
	}
	auditOpened struct {
		Status  string `json:"status"`
		Content string `json:"content"`
	}
	auditAnswer struct {
		Events []auditEvent `json:"events"`
	}
)

// wantKeys checks that a JSON object has every key, present even when null.
func wantKeys(t *testing.T, raw []byte, keys ...string) {
	t.Helper()
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil {
		t.Fatalf("decode %s: %v", raw, err)
	}
	for _, k := range keys {
		if _, ok := obj[k]; !ok {
			t.Fatalf("%s has no %q", raw, k)
		}
	}
}

var (
	sessionKeys = []string{"sessionId", "kind", "title", "owner", "members", "lastSeq", "lastMessage", "receivedSeq", "readSeq", "unreadCount", "muted", "retentionDays"}
	messageKeys = []string{"messageId", "sessionId", "seq", "senderId", "messageType", "content", "ext", "clientMessageId",
		"clientTimestamp", "serverTimestamp", "adjustedTimestamp", "recalled"}
)

// Commands made directly on the engine, as the WebSocket side would make them.

func as(user string) command.RequestMeta { return command.RequestMeta{Actor: user} }

func (s *server) sendTo(t *testing.T, from, to, content string) command.SendAck {
	t.Helper()
	ack, err := s.Commands.Send.Handle(context.Background(), command.Send{
		Meta: as(from), ToUserID: to, MessageType: 1, Content: content,
		ClientMessageID: newClientID(), ClientTimestamp: s.Clock.Now().UnixMilli(),
	})
	if err != nil {
		t.Fatalf("%s sends to %s: %v", from, to, err)
	}
	return ack
}

func (s *server) send(t *testing.T, from, sessionID, content string) command.SendAck {
	t.Helper()
	ack, err := s.Commands.Send.Handle(context.Background(), command.Send{
		Meta: as(from), SessionID: sessionID, MessageType: 1, Content: content,
		ClientMessageID: newClientID(), ClientTimestamp: s.Clock.Now().UnixMilli(),
	})
	if err != nil {
		t.Fatalf("%s sends to %s: %v", from, sessionID, err)
	}
	return ack
}

func (s *server) ack(t *testing.T, user, sessionID string, seq int64, ackType string) {
	t.Helper()
	if _, err := s.Commands.Ack.Handle(context.Background(), command.Ack{
		Meta: as(user), SessionID: sessionID, Seq: seq, AckType: ackType,
	}); err != nil {
		t.Fatalf("%s acks %s %d %s: %v", user, sessionID, seq, ackType, err)
	}
}

func (s *server) recall(t *testing.T, user, sessionID, messageID string) {
	t.Helper()
	if err := s.Commands.Recall.Handle(context.Background(), command.Recall{
		Meta: as(user), SessionID: sessionID, MessageID: messageID,
	}); err != nil {
		t.Fatalf("%s recalls %s: %v", user, messageID, err)
	}
}

func (s *server) group(t *testing.T, owner, title string, members ...string) string {
	t.Helper()
	g, err := s.Commands.CreateGroup.Handle(context.Background(), command.CreateGroup{Meta: as(owner), Title: title, Members: members})
	if err != nil {
		t.Fatalf("create group: %v", err)
	}
	return g.ID
}

// clientIDs makes clientMessageIds unique across the package's tests.
var clientIDs atomic.Int64

func newClientID() string { return "c-" + strconv.FormatInt(clientIDs.Add(1), 10) }

func seqs(msgs []wireMessage) []int64 {
	out := make([]int64, 0, len(msgs))
	for _, m := range msgs {
		out = append(out, m.Seq)
	}
	return out
}
