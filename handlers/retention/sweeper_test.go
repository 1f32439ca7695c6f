package retention_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tellyou/tellyou/domain"
	"github.com/tellyou/tellyou/events"
	"github.com/tellyou/tellyou/handlers/command"
	"github.com/tellyou/tellyou/handlers/handlerstest"
	"github.com/tellyou/tellyou/handlers/metrics"
	"github.com/tellyou/tellyou/handlers/retention"
	"github.com/tellyou/tellyou/handlers/transport/httpapi"
	"github.com/tellyou/tellyou/projections"
)

var ctx = context.Background()

const day = 24 * time.Hour

// recordingShredder records the shredding asked of it and fails while fail
// is set.
type recordingShredder struct {
	mu    sync.Mutex
	calls map[string]time.Time
	fail  error
}

func (r *recordingShredder) ShredSessionBefore(_ context.Context, sessionID string, before time.Time) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail != nil {
		return r.fail
	}
	if r.calls == nil {
		r.calls = map[string]time.Time{}
	}
	r.calls[sessionID] = before
	return nil
}

func (r *recordingShredder) before(sessionID string) (time.Time, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	t, ok := r.calls[sessionID]
	return t, ok
}

// stack is an engine with the HTTP API on a loopback server.
type stack struct {
	*handlerstest.Engine
	url string
}

func newStack(t *testing.T) *stack {
	t.Helper()
	e := handlerstest.New(t, handlerstest.Options{})
	api, err := httpapi.New(httpapi.Config{Commands: e.Commands, Queries: e.Queries, Store: e.Store, Secret: e.Secret,
		Metrics: metrics.New(), Ready: func(context.Context) error { return nil }})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)
	return &stack{Engine: e, url: srv.URL}
}

// call makes an HTTP request as user and decodes a 2xx answer into out.
func (s *stack) call(t *testing.T, user, method, path, body string, out any) int {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, method, s.url+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+s.Token(t, user))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode/100 == 2 && out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatalf("%s %s: decode %s: %v", method, path, raw, err)
		}
	}
	return resp.StatusCode
}

func (s *stack) sweeper(t *testing.T, shredder retention.ContentShredder, defaultDays int) *retention.Sweeper {
	t.Helper()
	expire, err := command.NewExpireHandler(s.Commands.Sessions)
	if err != nil {
		t.Fatal(err)
	}
	sw, err := retention.New(retention.Config{Expiries: s.RM, Expire: expire, Shredder: shredder,
		DefaultDays: defaultDays, Now: s.Clock.Now, Page: 2})
	if err != nil {
		t.Fatal(err)
	}
	return sw
}

type message struct {
	Seq     int64  `json:"seq"`
	Content string `json:"content"`
}

func (s *stack) history(t *testing.T, user, sessionID string) []int64 {
	t.Helper()
	var page struct {
		Messages []message `json:"messages"`
	}
	if st := s.call(t, user, "GET", "/v1/sessions/"+sessionID+"/messages?limit=100", "", &page); st != 200 {
		t.Fatalf("history: %d", st)
	}
	return seqsOf(page.Messages)
}

func (s *stack) inbox(t *testing.T, user string) []int64 {
	t.Helper()
	var in struct {
		Messages []message `json:"messages"`
	}
	if st := s.call(t, user, "GET", "/v1/inbox", "", &in); st != 200 {
		t.Fatalf("inbox: %d", st)
	}
	return seqsOf(in.Messages)
}

func (s *stack) unread(t *testing.T, user string) int64 {
	t.Helper()
	var u struct {
		Total int64 `json:"total"`
	}
	if st := s.call(t, user, "GET", "/v1/unread", "", &u); st != 200 {
		t.Fatalf("unread: %d", st)
	}
	return u.Total
}

func (s *stack) search(t *testing.T, user, text string) []int64 {
	t.Helper()
	var a struct {
		Results []message `json:"results"`
	}
	if st := s.call(t, user, "GET", "/v1/search?q="+url.QueryEscape(text), "", &a); st != 200 {
		t.Fatalf("search: %d", st)
	}
	out := seqsOf(a.Results)
	slices.Sort(out)
	return out
}

func seqsOf(ms []message) []int64 {
	out := make([]int64, len(ms))
	for i, m := range ms {
		out[i] = m.Seq
	}
	return out
}

func (s *stack) dump(t *testing.T) string {
	t.Helper()
	var sb strings.Builder
	for _, table := range []string{"rm_messages", "rm_reactions", "rm_sessions", "rm_members", "rm_search"} {
		rows, err := s.Pool.Query(ctx, `SELECT r::text FROM `+table+` r ORDER BY 1`)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var line string
			if err := rows.Scan(&line); err != nil {
				t.Fatal(err)
			}
			sb.WriteString(line + "\n")
		}
		rows.Close()
	}
	return sb.String()
}

// TestSweepExpiresWhatUsersSee sets a group's retention over HTTP, sends
// messages at controlled server times, sweeps once, and checks every pull
// over HTTP; a new message continues the seq and a rebuild gives the same
// read models.
func TestSweepExpiresWhatUsersSee(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	g := s.Group(t, "ann", "bob")
	path := "/v1/sessions/" + g
	if st := s.call(t, "ann", "PATCH", path, `{"retentionDays": 0}`, nil); st != 400 {
		t.Fatalf("below one day: %d, want 400", st)
	}
	if st := s.call(t, "bob", "PATCH", path, `{"retentionDays": 1}`, nil); st != 403 {
		t.Fatalf("not the owner: %d, want 403", st)
	}
	var set struct {
		RetentionDays *int `json:"retentionDays"`
	}
	if st := s.call(t, "ann", "PATCH", path, `{"retentionDays": 1}`, &set); st != 200 || set.RetentionDays == nil || *set.RetentionDays != 1 {
		t.Fatalf("set one day: %d %+v", st, set)
	}
	for i, text := range []string{"zebra one", "zebra two", "zebra three"} {
		s.Send(t, "ann", g, text, "c"+string(rune('a'+i)))
		s.Clock.Advance(time.Minute)
	}
	s.Clock.Advance(2 * day)
	s.Send(t, "ann", g, "zebra late", "cl") // seq 4: within the day
	cutoff := s.Clock.Now().Add(-day)
	s.CaughtUp(t)
	if got := s.unread(t, "bob"); got != 4 {
		t.Fatalf("bob's unread before the sweep = %d, want 4", got)
	}

	shredder := &recordingShredder{}
	sw, err := s.sweeper(t, shredder, 0).SweepOnce(ctx)
	if err != nil || sw.Expired != 1 {
		t.Fatalf("sweep = %+v, %v; want one session expired", sw, err)
	}
	if before, ok := shredder.before(g); !ok || !before.Equal(time.UnixMilli(cutoff.UnixMilli())) {
		t.Errorf("shredded %s before %v (%v), want the cutoff %v", g, before, ok, cutoff)
	}
	s.CaughtUp(t)
	if got := s.history(t, "bob", g); !slices.Equal(got, []int64{4}) {
		t.Errorf("history after the sweep: %v, want [4]", got)
	}
	if got := s.inbox(t, "bob"); !slices.Equal(got, []int64{4}) {
		t.Errorf("inbox after the sweep: %v, want [4]", got)
	}
	if got := s.unread(t, "bob"); got != 1 {
		t.Errorf("unread after the sweep: %d, want 1", got)
	}
	if got := s.search(t, "bob", "zebra"); !slices.Equal(got, []int64{4}) {
		t.Errorf("search after the sweep: %v, want [4]", got)
	}
	// A second sweep finds nothing new.
	if sw, err := s.sweeper(t, shredder, 0).SweepOnce(ctx); err != nil || sw.Expired != 0 {
		t.Errorf("second sweep = %+v, %v; want nothing expired", sw, err)
	}
	next := s.Send(t, "bob", g, "after the expiry", "cn")
	if next.Seq != 5 {
		t.Errorf("the next message has seq %d, want 5", next.Seq)
	}
	// Everything expires: the history is empty at once (not a page waiting
	// for messages the read model will never hold), its lastSeq the log's.
	s.Clock.Advance(2 * day)
	s.CaughtUp(t)
	if sw, err := s.sweeper(t, shredder, 0).SweepOnce(ctx); err != nil || sw.Expired != 1 {
		t.Fatalf("sweep of everything = %+v, %v", sw, err)
	}
	s.CaughtUp(t)
	var page struct {
		Messages []message `json:"messages"`
		LastSeq  int64     `json:"lastSeq"`
		HasMore  bool      `json:"hasMore"`
	}
	started := time.Now()
	if st := s.call(t, "bob", "GET", "/v1/sessions/"+g+"/messages", "", &page); st != 200 || len(page.Messages) != 0 || page.LastSeq != 5 || page.HasMore {
		t.Errorf("history of a session whose messages all expired: %d %+v; want none, lastSeq 5, no more", st, page)
	}
	if took := time.Since(started); took > time.Second {
		t.Errorf("the history of an expired session took %v: it waited for the read model", took)
	}
	live := s.dump(t)
	if _, err := projections.RebuildAll(ctx, s.Store, s.Pool, nil, slog.New(slog.DiscardHandler)); err != nil {
		t.Fatal(err)
	}
	if rebuilt := s.dump(t); rebuilt != live {
		t.Errorf("rebuilt read models differ from the live ones:\n%s\nwant:\n%s", rebuilt, live)
	}
	var actor string
	if err := s.Pool.QueryRow(ctx, `SELECT metadata->>'actor' FROM tellyou_events WHERE stream_id = $1 AND type = 'MessagesExpired'`, g).Scan(&actor); err != nil || actor != retention.Actor {
		t.Errorf("the expiry's actor = %q, %v; want %q", actor, err, retention.Actor)
	}
}

// TestServerDefaultAppliesWithoutOwnSetting: a session without its own
// retention keeps everything while the default is off and expires by the
// default when it is on; its own setting wins over the default.
func TestServerDefaultAppliesWithoutOwnSetting(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	d := s.SendTo(t, "ann", "bob", "old", "c1").SessionID
	g := s.Group(t, "cat", "dan")
	s.Send(t, "cat", g, "old in the group", "c2")
	if st := s.call(t, "cat", "PATCH", "/v1/sessions/"+g, `{"retentionDays": 30}`, nil); st != 200 {
		t.Fatalf("set 30 days: %d", st)
	}
	s.Clock.Advance(3 * day)
	s.Send(t, "bob", d, "new", "c3")
	s.CaughtUp(t)

	shredder := &recordingShredder{}
	if sw, err := s.sweeper(t, shredder, 0).SweepOnce(ctx); err != nil || sw.Expired != 0 {
		t.Fatalf("sweep without a default = %+v, %v; want nothing", sw, err)
	}
	if sw, err := s.sweeper(t, shredder, 2).SweepOnce(ctx); err != nil || sw.Expired != 1 {
		t.Fatalf("sweep with a 2-day default = %+v, %v; want the direct session", sw, err)
	}
	s.CaughtUp(t)
	if got := s.history(t, "ann", d); !slices.Equal(got, []int64{2}) {
		t.Errorf("direct session after the default's sweep: %v, want [2]", got)
	}
	if got := s.history(t, "dan", g); !slices.Equal(got, []int64{1}) {
		t.Errorf("the group keeps its own 30 days: %v, want [1]", got)
	}
	if _, ok := shredder.before(g); ok {
		t.Error("the group's keys were shredded")
	}
}

// TestShreddingFailureIsRetried: the expiry stands when shredding fails, and
// the next sweep shreds what the failed one could not.
func TestShreddingFailureIsRetried(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	g := s.Group(t, "ann", "bob")
	if st := s.call(t, "ann", "PATCH", "/v1/sessions/"+g, `{"retentionDays": 1}`, nil); st != 200 {
		t.Fatalf("set: %d", st)
	}
	s.Send(t, "ann", g, "old", "c1")
	s.Clock.Advance(2 * day)
	s.CaughtUp(t)
	shredder := &recordingShredder{fail: errors.New("keystore down")}
	sweeper := s.sweeper(t, shredder, 0)
	if sw, err := sweeper.SweepOnce(ctx); err == nil || !strings.Contains(err.Error(), "keystore down") || sw.Expired != 1 {
		t.Fatalf("sweep with a failing shredder = %+v, %v; want the expiry and the error", sw, err)
	}
	s.CaughtUp(t)
	shredder.mu.Lock()
	shredder.fail = nil
	shredder.mu.Unlock()
	if sw, err := sweeper.SweepOnce(ctx); err != nil || sw.Expired != 0 || sw.Shredded != 1 {
		t.Fatalf("next sweep = %+v, %v; want the shredding done, nothing more expired", sw, err)
	}
	if _, ok := shredder.before(g); !ok {
		t.Error("the group's keys were never shredded")
	}
}

// TestRunSweepsUnderTheLease runs two sweepers on one database: one holds the
// lease and sweeps, and the messages expire once.
func TestRunSweepsUnderTheLease(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	g := s.Group(t, "ann", "bob")
	one := 1
	if _, err := s.Commands.Sessions.Update(ctx, g, handlerstest.As("ann"), func(st *domain.Session) ([]events.Payload, error) {
		return domain.DecideSetRetention(st, domain.SetRetentionCommand{SessionID: g, UserID: "ann", Days: &one, Now: s.Clock.Now().UnixMilli()})
	}); err != nil {
		t.Fatal(err)
	}
	s.Send(t, "ann", g, "old", "c1")
	s.Clock.Advance(2 * day)
	s.CaughtUp(t)
	expire, err := command.NewExpireHandler(s.Commands.Sessions)
	if err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for range 2 {
		sw, err := retention.New(retention.Config{Expiries: s.RM, Expire: expire, Shredder: &recordingShredder{},
			Interval: 20 * time.Millisecond, Pool: s.Pool, Now: s.Clock.Now})
		if err != nil {
			t.Fatal(err)
		}
		wg.Go(func() { sw.Run(runCtx) })
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		var n int
		if err := s.Pool.QueryRow(ctx, `SELECT count(*) FROM tellyou_events WHERE stream_id = $1 AND type = 'MessagesExpired'`, g).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n == 1 {
			break
		}
		if n > 1 || time.Now().After(deadline) {
			cancel()
			wg.Wait()
			t.Fatalf("%d expiries, want exactly 1", n)
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond) // more sweeps: still one expiry
	cancel()
	wg.Wait()
	var n int
	if err := s.Pool.QueryRow(ctx, `SELECT count(*) FROM tellyou_events WHERE stream_id = $1 AND type = 'MessagesExpired'`, g).Scan(&n); err != nil || n != 1 {
		t.Fatalf("%d expiries after more sweeps, %v; want 1", n, err)
	}
}

func TestParseDays(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		want int
		ok   bool
	}{
		{"", 0, true}, {"off", 0, true}, {"0", 0, true},
		{"30d", 30, true}, {"1d", 1, true}, {"720h", 30, true}, {"24h0m0s", 1, true}, {" 7d ", 7, true},
		{"36500d", 36500, true},
		{"36501d", 0, false}, {"0d", 0, false}, {"-1d", 0, false}, {"12h", 0, false}, {"25h", 0, false},
		{"1.5d", 0, false}, {"30", 0, false}, {"d", 0, false}, {"thirty days", 0, false}, {"-24h", 0, false},
	} {
		got, err := retention.ParseDays(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("ParseDays(%q) = %d, %v; want %d (ok %v)", tc.in, got, err, tc.want, tc.ok)
		}
		if err != nil && !strings.Contains(err.Error(), "30d") {
			t.Errorf("ParseDays(%q): error %q does not say what is accepted", tc.in, err)
		}
	}
}

func TestConfigRefusesMissingDependencies(t *testing.T) {
	t.Parallel()
	_, err := retention.New(retention.Config{DefaultDays: -1})
	for _, want := range []string{"Expiries", "Expire", "Shredder", "DefaultDays"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not name %s", err, want)
		}
	}
}
