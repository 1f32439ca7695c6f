package readmodels_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/tellyou/tellyou/events"
	"github.com/tellyou/tellyou/readmodels"
)

// TestExpiredMessagesLeaveEveryReadModel expires the first three of five
// messages of a group and checks every pull: history, inbox, unread counts,
// search, reactions, the sessions list's last message; seq goes on after.
func TestExpiredMessagesLeaveEveryReadModel(t *testing.T) {
	t.Parallel()
	env, q := newEnv(t)
	g := env.CreateGroup("team", "alice", "bob")
	var sent []events.MessageSent
	for _, text := range []string{"zebra one", "zebra two", "zebra three", "four", "five"} {
		sent = append(sent, g.Send("alice", text))
	}
	g.Send("bob", "late zebra")  // seq 6, kept
	g.React("bob", sent[1], "👍") // expires with its message
	g.React("bob", sent[3], "🎉") // stays
	g.Expire(0)                  // nothing: an expiry of nothing changes nothing
	env.WaitCaughtUp()
	before, err := q.Unread(ctx, "bob")
	if err != nil || before.Total != 5 {
		t.Fatalf("bob's unread before the expiry = %+v, %v; want 5", before, err)
	}

	days := 3
	g.SetRetention("alice", &days)
	g.Expire(3)
	g.Expire(2) // lower: changes nothing
	env.WaitCaughtUp()

	page, err := q.Messages(ctx, g.ID, readmodels.PageQuery{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	wantSeqs(t, "history", page.Messages, []int64{4, 5, 6})
	inbox, err := q.Inbox(ctx, "bob", 100)
	if err != nil {
		t.Fatal(err)
	}
	wantSeqs(t, "bob's inbox", inbox, []int64{4, 5})
	if u, err := q.Unread(ctx, "bob"); err != nil || u.Total != 2 || u.Sessions[g.ID] != 2 {
		t.Errorf("bob's unread after the expiry = %+v, %v; want 2", u, err)
	}
	hits, err := q.Search(ctx, readmodels.SearchQuery{UserID: "alice", Text: "zebra"})
	if err != nil {
		t.Fatal(err)
	}
	var found []int64
	for _, h := range hits.Hits {
		found = append(found, h.Seq)
	}
	if !slices.Equal(found, []int64{6}) {
		t.Errorf("search finds seqs %v, want only [6]", found)
	}
	var emojis []string
	rows, err := env.Pool.Query(ctx, `SELECT emoji FROM rm_reactions ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var e string
		if err := rows.Scan(&e); err != nil {
			t.Fatal(err)
		}
		emojis = append(emojis, e)
	}
	rows.Close()
	if !slices.Equal(emojis, []string{"🎉"}) {
		t.Errorf("reactions after the expiry: %q, want only the one on seq 4", emojis)
	}
	s, err := q.Session(ctx, g.ID, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if s.RetentionDays == nil || *s.RetentionDays != 3 || s.LastSeq != 6 {
		t.Errorf("session = retention %v, last seq %d; want 3 days, 6", s.RetentionDays, s.LastSeq)
	}

	// Everything expires: no last message to preview; the next one is seq 7.
	g.Expire(6)
	next := g.Send("bob", "after")
	env.WaitCaughtUp()
	if next.Seq != 7 {
		t.Fatalf("next seq %d, want 7", next.Seq)
	}
	g.Expire(7)
	env.WaitCaughtUp()
	s, err = q.Session(ctx, g.ID, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if s.LastMessage != nil || s.UnreadCount != 0 {
		t.Errorf("session after expiring all: last message %+v, unread %d; want none", s.LastMessage, s.UnreadCount)
	}
	var expired int64
	if err := env.Pool.QueryRow(ctx, `SELECT expired_seq FROM rm_sessions WHERE session_id = $1`, g.ID).Scan(&expired); err != nil || expired != 7 {
		t.Errorf("expired_seq = %d, %v; want 7", expired, err)
	}
	g.SetRetention("alice", nil)
	env.WaitCaughtUp()
	if s, _ := q.Session(ctx, g.ID, "alice"); s.RetentionDays != nil {
		t.Errorf("retention after a change to the default = %d, want nil", *s.RetentionDays)
	}
}

// TestDueExpiriesFindsSessionsPastTheirRetention checks the sweeper's query:
// a session's own retention, the server default, the cutoff exclusive, the
// prefix rule (expiry stops before the first message not due), paging.
func TestDueExpiriesFindsSessionsPastTheirRetention(t *testing.T) {
	t.Parallel()
	env, q := newEnv(t)
	own := env.CreateGroup("own", "alice")
	one := 1
	own.SetRetention("alice", &one)
	m1 := own.Send("alice", "1")
	m2 := own.Send("alice", "2")
	own.Send("alice", "3")
	dflt := env.CreateGroup("default", "alice")
	d1 := dflt.Send("alice", "1")
	env.CreateGroup("empty", "alice")
	env.WaitCaughtUp()

	day := readmodels.DayMillis
	due := func(now int64, defaultDays int, after string, limit int) []readmodels.Expiry {
		t.Helper()
		got, err := q.DueExpiries(ctx, readmodels.ExpiryQuery{Now: now, DefaultDays: defaultDays, AfterSessionID: after, Limit: limit})
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	if got := due(m1.ServerTimestamp+day, 0, "", 0); len(got) != 0 {
		t.Errorf("at the first message's cutoff (exclusive): %+v, want none", got)
	}
	want := []readmodels.Expiry{{SessionID: own.ID, Before: m2.ServerTimestamp + 1, UpToSeq: 2}}
	if got := due(m2.ServerTimestamp+1+day, 0, "", 0); !slices.Equal(got, want) {
		t.Errorf("own retention only: %+v, want %+v", got, want)
	}
	// With a default of 2 days, 2 days after d1 both are due; own keeps its
	// own day.
	now := d1.ServerTimestamp + 1 + 2*day
	all := due(now, 2, "", 0)
	wantAll := []readmodels.Expiry{
		{SessionID: own.ID, Before: now - day, UpToSeq: 3},
		{SessionID: dflt.ID, Before: now - 2*day, UpToSeq: 1},
	}
	slices.SortFunc(wantAll, func(a, b readmodels.Expiry) int { return strings.Compare(a.SessionID, b.SessionID) })
	if !slices.Equal(all, wantAll) {
		t.Errorf("with a default: %+v, want %+v", all, wantAll)
	}
	if got := due(now, 2, "", 1); !slices.Equal(got, wantAll[:1]) {
		t.Errorf("first page of one: %+v, want %+v", got, wantAll[:1])
	}
	if got := due(now, 2, wantAll[0].SessionID, 1); !slices.Equal(got, wantAll[1:]) {
		t.Errorf("second page of one: %+v, want %+v", got, wantAll[1:])
	}
	// Once expired, a session is no longer due.
	own.Expire(3)
	env.WaitCaughtUp()
	if got := due(now, 0, "", 0); len(got) != 0 {
		t.Errorf("after the expiry: %+v, want none", got)
	}
}
