package httpapi_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tellyou/tellyou/events"
	"github.com/tellyou/tellyou/handlers/command"
	"github.com/tellyou/tellyou/handlers/handlerstest"
	"github.com/tellyou/tellyou/handlers/metrics"
	"github.com/tellyou/tellyou/handlers/transport/httpapi"
)

// Export shapes, spelled out as the protocol defines them.
type (
	exportSession struct {
		SessionID   string        `json:"sessionId"`
		Kind        string        `json:"kind"`
		Title       string        `json:"title"`
		Owner       string        `json:"owner"`
		Members     []string      `json:"members"`
		CreatedAt   int64         `json:"createdAt"`
		ReceivedSeq int64         `json:"receivedSeq"`
		ReadSeq     int64         `json:"readSeq"`
		Messages    []wireMessage `json:"messages"`
	}
	exportDoc struct {
		UserID     string          `json:"userId"`
		ExportedAt int64           `json:"exportedAt"`
		Sessions   []exportSession `json:"sessions"`
	}
)

func contents(msgs []wireMessage) []string {
	out := make([]string, 0, len(msgs))
	for _, m := range msgs {
		out = append(out, m.Content)
	}
	return out
}

func TestExportHoldsTheUsersOwnMessages(t *testing.T) {
	t.Parallel()
	s := newServer(t, serverOptions{})
	ctx := context.Background()
	d := s.sendTo(t, "ann", "bob", "hi bob").SessionID
	s.send(t, "bob", d, "hi ann")
	typo := s.send(t, "ann", d, "teh")
	gone := s.send(t, "ann", d, "oops")
	s.send(t, "bob", d, "bob again")
	if err := s.Commands.Edit.Handle(ctx, command.Edit{Meta: as("ann"), SessionID: d, MessageID: typo.MessageID, Content: "the"}); err != nil {
		t.Fatal(err)
	}
	if err := s.Commands.React.Handle(ctx, command.React{Meta: as("bob"), SessionID: d, MessageID: typo.MessageID, Emoji: "👍"}); err != nil {
		t.Fatal(err)
	}
	s.recall(t, "ann", d, gone.MessageID)

	g := s.group(t, "cat", "team", "ann", "bob")
	s.send(t, "cat", g, "welcome")
	s.send(t, "ann", g, "thanks")
	s.ack(t, "ann", g, 1, "read")
	left := s.group(t, "cat", "old", "ann")
	s.send(t, "ann", left, "bye")
	if _, err := s.Commands.ChangeMembers.Handle(ctx, command.ChangeMembers{Meta: as("cat"), SessionID: left, Remove: []string{"ann"}}); err != nil {
		t.Fatal(err)
	}
	s.CaughtUp(t)

	before := time.Now().UnixMilli()
	a := s.get(t, "ann", "/v1/users/me/export")
	after := time.Now().UnixMilli()
	doc := decodeAs[exportDoc](t, a, http.StatusOK)
	if cd := a.header.Get("Content-Disposition"); !strings.HasPrefix(cd, `attachment; filename="tellyou-export-`) || !strings.HasSuffix(cd, `.json"`) {
		t.Fatalf("Content-Disposition %q", cd)
	}
	wantKeys(t, a.body, "userId", "exportedAt", "sessions")
	if doc.UserID != "ann" || doc.ExportedAt < before || doc.ExportedAt > after {
		t.Fatalf("userId %q exportedAt %d, want ann, within %d..%d", doc.UserID, doc.ExportedAt, before, after)
	}
	want := []string{d, g}
	slices.Sort(want)
	var ids []string
	for _, es := range doc.Sessions {
		ids = append(ids, es.SessionID)
	}
	if !slices.Equal(ids, want) {
		t.Fatalf("sessions %v, want %v in id order (not %s, which ann left)", ids, want, left)
	}
	byID := map[string]exportSession{}
	for _, es := range doc.Sessions {
		byID[es.SessionID] = es
	}

	direct := byID[d]
	if direct.Kind != "direct" || !slices.Equal(direct.Members, []string{"ann", "bob"}) || direct.CreatedAt == 0 {
		t.Fatalf("direct session = %+v", direct)
	}
	if got := seqs(direct.Messages); !slices.Equal(got, []int64{1, 3, 4}) {
		t.Fatalf("direct messages seqs %v, want ann's 1 3 4", got)
	}
	if got := contents(direct.Messages); !slices.Equal(got, []string{"hi bob", "the", "" /* recalled */}) {
		t.Fatalf("direct contents %q", got)
	}
	edited, recalled := direct.Messages[1], direct.Messages[2]
	if edited.EditedAt == 0 || !slices.Equal(edited.Reactions["👍"], []string{"bob"}) || edited.SenderID != "ann" {
		t.Fatalf("edited message = %+v", edited)
	}
	if !recalled.Recalled || recalled.Content != "" || recalled.MessageID != gone.MessageID {
		t.Fatalf("recalled message = %+v", recalled)
	}

	group := byID[g]
	if group.Kind != "group" || group.Title != "team" || group.Owner != "cat" || group.ReadSeq != 1 ||
		!slices.Equal(group.Members, []string{"ann", "bob", "cat"}) {
		t.Fatalf("group session = %+v", group)
	}
	if got := contents(group.Messages); !slices.Equal(got, []string{"thanks"}) {
		t.Fatalf("group contents %q, want ann's only", got)
	}
	var raw struct {
		Sessions []map[string]json.RawMessage `json:"sessions"`
	}
	if err := json.Unmarshal(a.body, &raw); err != nil {
		t.Fatal(err)
	}
	for _, es := range raw.Sessions {
		var msgs []json.RawMessage
		if err := json.Unmarshal(es["messages"], &msgs); err != nil || len(msgs) == 0 {
			t.Fatalf("messages %s: %v", es["messages"], err)
		}
		wantKeys(t, msgs[0], messageKeys...)
	}
}

func TestExportOfNothingAndWithoutToken(t *testing.T) {
	t.Parallel()
	s := newServer(t, serverOptions{})
	s.sendTo(t, "ann", "bob", "not for dan")
	s.CaughtUp(t)

	a := s.get(t, "dan", "/v1/users/me/export")
	if doc := decodeAs[exportDoc](t, a, http.StatusOK); doc.UserID != "dan" {
		t.Fatalf("userId %q", doc.UserID)
	}
	if !strings.Contains(string(a.body), `"sessions":[]`) {
		t.Fatalf("an export of nothing should hold \"sessions\":[]: %s", a.body)
	}
	// A session whose user sent nothing lists it with "messages":[].
	if a := s.get(t, "bob", "/v1/users/me/export"); !strings.Contains(string(a.body), `"messages":[]`) {
		t.Fatalf("bob's export should hold \"messages\":[]: %s", a.body)
	}
	wantError(t, s.get(t, "", "/v1/users/me/export"), http.StatusUnauthorized, "unauthorized", "missing token")
}

// A failure after the answer began cuts the transfer short: the client never
// gets a document that parses.
func TestExportAbortsOnAFailureMidAnswer(t *testing.T) {
	t.Parallel()
	s := newServer(t, serverOptions{})
	s.sendTo(t, "ann", "bob", "one")
	s.CaughtUp(t)
	// The sessions still read; the messages, which join the reactions, fail.
	if _, err := s.Pool.Exec(context.Background(), `ALTER TABLE rm_reactions RENAME TO rm_reactions_away`); err != nil {
		t.Fatal(err)
	}
	r, err := http.NewRequest(http.MethodGet, s.url+"/v1/users/me/export", nil)
	if err != nil {
		t.Fatal(err)
	}
	r.Header.Set("Authorization", "Bearer "+s.tokenOf(t, "ann"))
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d, want 200 (the answer had begun)", resp.StatusCode)
	}
	body, err := io.ReadAll(resp.Body)
	if err == nil {
		t.Fatalf("the transfer ended cleanly with %s; want it cut short", body)
	}
	if json.Valid(body) {
		t.Fatalf("a cut transfer parses as JSON: %s", body)
	}
}

// A large export is written page by page: with pages of 100, the answer's
// start and each page of ann's messages are flushed on their own, and bob's, between them, are not
// among them.
func TestExportStreamsALargeHistory(t *testing.T) {
	t.Parallel()
	s, flushes := newServerWithExportPage(t, 100)
	d := s.sendTo(t, "ann", "bob", "ann 1").SessionID
	var want []string // ann's contents in seq order
	want = append(want, "ann 1")
	var batch []events.Payload
	for seq := int64(2); seq <= 2500; seq++ {
		from := "ann"
		if seq%5 == 0 {
			from = "bob"
		}
		content := from + " " + strconv.FormatInt(seq, 10)
		if from == "ann" {
			want = append(want, content)
		}
		if batch = append(batch, s.reply(d, seq, from, content, "")); len(batch) == 250 {
			s.appendEvents(t, d, batch...)
			batch = nil
		}
	}
	s.appendEvents(t, d, batch...)
	s.CaughtUp(t)
	flushes.Store(0)

	a := s.get(t, "ann", "/v1/users/me/export")
	if cl := a.header.Get("Content-Length"); cl != "" {
		t.Fatalf("Content-Length %s: the export was answered whole, not streamed", cl)
	}
	doc := decodeAs[exportDoc](t, a, http.StatusOK)
	if len(doc.Sessions) != 1 {
		t.Fatalf("%d sessions, want 1", len(doc.Sessions))
	}
	if got := contents(doc.Sessions[0].Messages); !slices.Equal(got, want) {
		t.Fatalf("%d messages, want ann's %d in seq order; first missing %q", len(got), len(want), firstMissing(got, want))
	}
	pages := (len(want) + 99) / 100
	if got := flushes.Load(); got != int64(1+pages+1) {
		t.Fatalf("%d flushes, want one at the start, one per page of 100 messages (%d) and one at the end", got, pages)
	}
}

// newServerWithExportPage is newServer with Config.ExportPage set; flushes
// counts the flushes of its answers.
func newServerWithExportPage(t *testing.T, page int) (*server, *atomic.Int64) {
	t.Helper()
	s := &server{Engine: handlerstest.New(t, handlerstest.Options{}), metrics: metrics.New()}
	api, err := httpapi.New(httpapi.Config{
		Commands: s.Commands, Queries: s.Queries, Store: s.Store, Secret: s.Secret, Metrics: s.metrics,
		Ready:      func(context.Context) error { return nil },
		Logger:     slog.New(slog.NewTextHandler(testLog{t}, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Now:        s.Clock.Now,
		ExportPage: page,
	})
	if err != nil {
		t.Fatal(err)
	}
	s.api = api
	flushes := new(atomic.Int64)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		api.ServeHTTP(&flushCounter{ResponseWriter: w, n: flushes}, r)
	}))
	s.url = srv.URL
	t.Cleanup(srv.Close)
	return s, flushes
}

// flushCounter counts the flushes of an answer.
type flushCounter struct {
	http.ResponseWriter
	n *atomic.Int64
}

func (f *flushCounter) FlushError() error {
	f.n.Add(1)
	return http.NewResponseController(f.ResponseWriter).Flush()
}

func (f *flushCounter) Unwrap() http.ResponseWriter { return f.ResponseWriter }

func firstMissing(got, want []string) string {
	for i, w := range want {
		if i >= len(got) || got[i] != w {
			return w
		}
	}
	return ""
}
