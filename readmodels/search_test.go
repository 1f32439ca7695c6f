package readmodels_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/tellyou/tellyou/events"
	"github.com/tellyou/tellyou/projections/projectiontest"
	"github.com/tellyou/tellyou/readmodels"
)

func search(t *testing.T, q *readmodels.Queries, sq readmodels.SearchQuery) readmodels.SearchPage {
	t.Helper()
	page, err := q.Search(ctx, sq)
	if err != nil {
		t.Fatalf("search %+v: %v", sq, err)
	}
	return page
}

func hitSeqs(page readmodels.SearchPage) []string {
	var out []string
	for _, h := range page.Hits {
		out = append(out, fmt.Sprintf("%s/%d", h.SessionID[:6], h.Seq))
	}
	return out
}

func edit(s *projectiontest.SessionLog, m events.MessageSent, content string) {
	s.Env.Append(s.ID, events.MessageEdited{SessionID: s.ID, MessageID: m.MessageID, Seq: m.Seq,
		By: m.SenderID, Content: content, EditedAt: s.Env.Now()})
}

func TestSearchMatchesRanksAndHighlights(t *testing.T) {
	t.Parallel()
	env, q := newEnv(t)
	g := env.CreateGroup("g", "alice", "bob")
	once := g.Send("alice", "we could meet at the harbour, or somewhere with coffee and a view")
	thrice := g.Send("bob", "Harbour harbour HARBOUR")
	g.Send("bob", "nothing to see here")
	phrase := g.Send("alice", "the old harbour bridge is closed")
	env.WaitCaughtUp()

	page := search(t, q, readmodels.SearchQuery{UserID: "alice", Text: "harbour"})
	if len(page.Hits) != 3 || page.Next != nil {
		t.Fatalf("hits %v next %v, want 3 and no next page", hitSeqs(page), page.Next)
	}
	if page.Hits[0].Seq != thrice.Seq {
		t.Errorf("best hit is seq %d, want %d (three matches): %+v", page.Hits[0].Seq, thrice.Seq, page.Hits)
	}
	for i := 1; i < len(page.Hits); i++ {
		if page.Hits[i].Rank > page.Hits[i-1].Rank {
			t.Errorf("hit %d ranks %v above hit %d's %v", i, page.Hits[i].Rank, i-1, page.Hits[i-1].Rank)
		}
	}
	h := page.Hits[0]
	if h.MessageID != thrice.MessageID || h.SenderID != "bob" || h.SessionID != g.ID || h.ServerTimestamp != thrice.ServerTimestamp {
		t.Errorf("hit %+v does not describe %+v", h, thrice)
	}
	if want := "[[Harbour]] [[harbour]] [[HARBOUR]]"; h.Snippet != want {
		t.Errorf("snippet %q, want %q", h.Snippet, want)
	}
	got := search(t, q, readmodels.SearchQuery{UserID: "bob", Text: `"old harbour"`})
	if len(got.Hits) != 1 || got.Hits[0].Seq != phrase.Seq || !strings.Contains(got.Hits[0].Snippet, "[[old]] [[harbour]]") {
		t.Errorf("phrase search: %+v", got.Hits)
	}
	got = search(t, q, readmodels.SearchQuery{UserID: "bob", Text: "harbour -bridge coffee"})
	if len(got.Hits) != 1 || got.Hits[0].Seq != once.Seq {
		t.Errorf("harbour -bridge coffee: %+v", got.Hits)
	}
	for _, text := range []string{`"unclosed`, "&|!:*()", "or or or", "-", `"" ''`} {
		if _, err := q.Search(ctx, readmodels.SearchQuery{UserID: "bob", Text: text}); err != nil {
			t.Errorf("search %q: %v", text, err)
		}
	}
}

func TestSearchSkipsRecalledFindsLatestEditAndOnlyMembersSessions(t *testing.T) {
	t.Parallel()
	env, q := newEnv(t)
	g := env.CreateGroup("g", "alice", "bob")
	recalled := g.Send("alice", "a secret plan")
	edited := g.Send("alice", "first draft words")
	edit(g, edited, "final wording")
	kept := g.Send("bob", "the plan stays")
	other := env.CreateGroup("other", "carol", "dave")
	other.Send("carol", "carol's plan")
	g.Recall(recalled)
	left := env.CreateGroup("left", "alice", "bob")
	left.Send("bob", "a plan from before alice left")
	left.Remove("bob", "alice")
	env.WaitCaughtUp()

	want := func(user, text string, in *projectiontest.SessionLog, seqs ...int64) {
		t.Helper()
		page := search(t, q, readmodels.SearchQuery{UserID: user, Text: text})
		var got []int64
		for _, h := range page.Hits {
			if h.SessionID != in.ID {
				t.Errorf("%s searching %q finds %s/%d", user, text, h.SessionID, h.Seq)
			}
			got = append(got, h.Seq)
		}
		if fmt.Sprint(got) != fmt.Sprint(seqs) {
			t.Errorf("%s searching %q finds seqs %v, want %v", user, text, got, seqs)
		}
	}
	want("alice", "plan", g, kept.Seq)
	want("alice", "secret", g)
	want("alice", "draft", g)
	want("alice", "wording", g, edited.Seq)
	want("dave", "plan", other, 1)
	want("dave", "wording", other)
	if page := search(t, q, readmodels.SearchQuery{UserID: "bob", Text: "plan", SessionID: other.ID}); len(page.Hits) != 0 {
		t.Errorf("bob finds %v in a session he is not in", hitSeqs(page))
	}
	if page := search(t, q, readmodels.SearchQuery{UserID: "bob", Text: "plan", SessionID: left.ID}); len(page.Hits) != 1 {
		t.Errorf("bob finds %v in his own session", hitSeqs(page))
	}
}

func TestSearchPagesWithoutRepeatsOrGaps(t *testing.T) {
	t.Parallel()
	env, q := newEnv(t)
	a, b := env.CreateGroup("a", "alice", "bob"), env.CreateGroup("b", "carol", "alice")
	// Three recency tiers: a year and a half ago, last month, today. Some
	// messages tie on rank.
	now := env.Now() + 1000*1000
	ages := []int64{540 * 86400_000, 20 * 86400_000, 0}
	want := map[string]bool{}
	for i := range 45 {
		s := []*projectiontest.SessionLog{a, b}[i%2]
		s.Seq++
		m := events.MessageSent{SessionID: s.ID, MessageID: uuid.NewString(), Seq: s.Seq, SenderID: "alice",
			MessageType: 1, Content: strings.Repeat("tide ", 1+i%4) + fmt.Sprintf("number %d", i),
			ClientMessageID: uuid.NewString(), ServerTimestamp: now - ages[i/15] + int64(i)}
		env.Append(s.ID, m)
		want[fmt.Sprintf("%s/%d", s.ID[:6], m.Seq)] = true
	}
	a.Send("bob", "no match")
	env.WaitCaughtUp()

	for _, limit := range []int{1, 7, 15, 16, 100} {
		seen := map[string]bool{}
		var order []readmodels.SearchHit
		sq := readmodels.SearchQuery{UserID: "alice", Text: "tide", Limit: limit}
		for pages := 0; ; pages++ {
			if pages > 60 {
				t.Fatalf("limit %d: more than 60 pages", limit)
			}
			page := search(t, q, sq)
			if len(page.Hits) > limit {
				t.Fatalf("limit %d: page of %d", limit, len(page.Hits))
			}
			for _, h := range page.Hits {
				key := fmt.Sprintf("%s/%d", h.SessionID[:6], h.Seq)
				if seen[key] {
					t.Fatalf("limit %d: %s twice", limit, key)
				}
				seen[key] = true
				order = append(order, h)
			}
			if page.Next == nil {
				break
			}
			c, err := readmodels.ParseSearchCursor(page.Next.String())
			if err != nil {
				t.Fatalf("cursor %q: %v", page.Next.String(), err)
			}
			sq.After = &c
		}
		if len(seen) != len(want) {
			t.Fatalf("limit %d: %d distinct hits, want %d", limit, len(seen), len(want))
		}
		// Newest tier first; within a tier, best rank first.
		for i := 1; i < len(order); i++ {
			prev, cur := order[i-1], order[i]
			sameTier := prev.ServerTimestamp-cur.ServerTimestamp < 86400_000
			if sameTier && cur.Rank > prev.Rank {
				t.Errorf("limit %d: hit %d ranks %v above the one before (%v) in the same tier", limit, i, cur.Rank, prev.Rank)
			}
			if !sameTier && cur.ServerTimestamp > prev.ServerTimestamp {
				t.Errorf("limit %d: hit %d of a newer tier after an older one", limit, i)
			}
		}
	}
}

func TestSearchRefusesBadTextAndCursors(t *testing.T) {
	t.Parallel()
	_, q := newEnv(t)
	for _, text := range []string{"", "   \t", strings.Repeat("x", readmodels.MaxSearchQueryChars+1), "a\x00b", "\xff"} {
		_, err := q.Search(ctx, readmodels.SearchQuery{UserID: "alice", Text: text})
		var te *readmodels.SearchTextError
		if !errors.As(err, &te) || !strings.Contains(te.Error(), "q must") {
			t.Errorf("search %q: %v, want a SearchTextError", text, err)
		}
	}
	if _, err := q.Search(ctx, readmodels.SearchQuery{UserID: "alice", Text: strings.Repeat("é", readmodels.MaxSearchQueryChars)}); err != nil {
		t.Errorf("search of %d characters: %v", readmodels.MaxSearchQueryChars, err)
	}
	good := readmodels.SearchCursor{Newest: 5, Tier: 1, Last: &readmodels.SearchKey{Rank: 0.25, ServerTs: 3, SessionID: "g:x", Seq: 2}}
	if c, err := readmodels.ParseSearchCursor(good.String()); err != nil || c.String() != good.String() {
		t.Errorf("cursor round trip: %+v, %v", c, err)
	}
	for _, bad := range []string{"", "!!", "e30x", "bm90IGpzb24", `eyJ0Ijo5OX0`, `eyJ4IjoxfQ`} {
		if _, err := readmodels.ParseSearchCursor(bad); !errors.Is(err, readmodels.ErrBadCursor) {
			t.Errorf("cursor %q: %v, want ErrBadCursor", bad, err)
		}
	}
}
