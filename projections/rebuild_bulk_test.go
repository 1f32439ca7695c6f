package projections_test

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/tellyou/tellyou/events"
	"github.com/tellyou/tellyou/projections"
	"github.com/tellyou/tellyou/projections/projectiontest"
)

// TestBulkRebuildEqualsLiveBuild rebuilds with reads and COPY transactions
// small enough that a short log takes every path of the bulk loads: recalls,
// edits and reactions folded in memory and those of messages written before
// them, compressed content (sent and edited), replies, members joining again
// and leaving, watermarks arriving out of order, and events appended
// throughout the rebuild.
func TestBulkRebuildEqualsLiveBuild(t *testing.T) {
	t.Parallel()
	env := projectiontest.New(t)
	env.StartRunner(projections.RunnerConfig{BatchSize: 64})
	appendMixed(t, env, mixedLog(testShape(), 21))
	g := env.CreateGroup("long reads", "alice", "bob", "carol")
	long := strings.Repeat(multiByteLine, 40) // ~3 KB, stored compressed
	var longOnes []events.MessageSent
	for i := range 6 {
		longOnes = append(longOnes, g.Send("alice", fmt.Sprintf("%d %s", i, long)))
		g.Read("bob", g.Seq)
	}
	g.Recall(longOnes[0])
	g.Recall(longOnes[5])
	g.Edit(longOnes[1], "short now")
	g.Edit(longOnes[2], "edited "+long)
	g.Edit(longOnes[5], "recalled: not edited")
	g.React("bob", longOnes[2], "👍")
	g.React("carol", longOnes[2], "👍")
	g.React("bob", longOnes[0], "👍") // recalled: no reaction
	g.Reply("carol", "a reply", longOnes[2])
	g.Reply("bob", "a reply to a recalled one", longOnes[0])
	// Reactions of messages a small bulk load has written by now: removed
	// and added again (last now), and written with their message, then
	// recalled with it.
	g.React("bob", longOnes[3], "🎉")
	g.React("carol", longOnes[3], "🎉")
	fresh := g.Send("alice", "reacted to while the load holds it")
	g.React("bob", fresh, "🎉")
	for i := range 25 {
		g.Send("alice", fmt.Sprintf("moving on %d", i))
	}
	g.Unreact("bob", longOnes[3], "🎉")
	g.React("bob", longOnes[3], "🎉")
	g.Recall(fresh)
	g.Mute("bob", true)
	g.Mute("carol", true) // removed below: the setting goes with the row
	g.Mute("alice", true)
	g.Mute("alice", false)
	g.Add("alice", "dave")
	g.Remove("alice", "carol")
	g.Mute("carol", true)      // no row: carol left
	g.Received("carol", g.Seq) // no row: carol left
	g.Read("dave", 2)          // below the watermark dave joined with
	// Retention: a setting, back to the default, set again; expiries of
	// messages a small load has written by now (with reactions, edits,
	// recalls, replies), a lower one that changes nothing, changes of
	// expired messages that match nothing, and messages after the expiry.
	thirty, seven := 30, 7
	g.SetRetention("alice", &thirty)
	g.SetRetention("alice", nil)
	g.SetRetention("alice", &seven)
	g.Expire(4)
	g.Expire(2)
	g.React("bob", longOnes[1], "🎉")
	g.Edit(longOnes[2], "edited after its expiry")
	after := g.Send("alice", "after the expiry")
	g.React("bob", after, "👍")
	g.Expire(g.Seq - 3)
	g.Send("bob", "after the second expiry")
	env.WaitCaughtUp()

	hot := env.CreateGroup("hot", "alice", "bob", "carol")
	var logged syncBuffer
	logger := slog.New(slog.NewTextHandler(&logged, nil))
	for _, sizes := range [][2]int{{37, 11}, {5, 1}, {1000, 100000}} {
		stop := make(chan struct{})
		var wg sync.WaitGroup
		var appended atomic.Int64
		wg.Go(func() { // events keep coming during the rebuild
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				m := hot.Send("bob", fmt.Sprintf("during %d", i))
				hot.Read("carol", m.Seq)
				hot.React("alice", m, emojis[i%len(emojis)])
				hot.Edit(m, fmt.Sprintf("edited during %d", i))
				if i%3 == 0 {
					hot.Recall(m)
				} else if i%3 == 1 {
					editMessage(hot, m, fmt.Sprintf("edited during %d", i))
				}
				if i%7 == 6 {
					hot.Expire(m.Seq - 2)
					appended.Add(1)
				}
				appended.Add(5)
			}
		})
		stats, err := projections.RebuildAllSized(ctx, env.Store, env.Pool, nil, logger, sizes[0], sizes[1])
		close(stop)
		wg.Wait()
		if err != nil {
			t.Fatalf("rebuild reading %d events at a time, copying %d rows: %v", sizes[0], sizes[1], err)
		}
		t.Logf("rebuilt %+v; %d events appended meanwhile", stats, appended.Load())
		if appended.Load() == 0 {
			t.Error("nothing appended during the rebuild")
		}
		env.WaitCaughtUp()
		if got, want := dumpRows(t, env), freshBuild(t, env); got != want {
			t.Errorf("read models rebuilt reading %d events at a time, copying %d rows, differ from a live build of the same log:\n%.3000s\nwant:\n%.3000s",
				sizes[0], sizes[1], got, want)
		}
	}
	if strings.Contains(logged.String(), "replaying event by event") {
		t.Errorf("a bulk load gave way to the statement path:\n%s", logged.String())
	}
	if n := copies(t, env); n != 0 {
		t.Errorf("%d copies left", n)
	}
}

// TestBulkRebuildOfUnusualLogs covers logs the domain does not write but
// the live projections take: a recall before its message, a recall naming a
// message of another session, messages repeated with the same id or seq
// (the bulk load gives way to the statement path for these), messages and
// acks before their session exists.
func TestBulkRebuildOfUnusualLogs(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		fallback bool
		write    func(env *projectiontest.Env)
	}{
		{"recall before its message", false, func(env *projectiontest.Env) {
			g := env.CreateGroup("g", "alice", "bob")
			m := message(g, "alice", "too late to recall")
			env.Append(g.ID, events.MessageRecalled{SessionID: g.ID, MessageID: m.MessageID, Seq: m.Seq, By: "alice", RecalledAt: env.Now()})
			env.Append(g.ID, m)
			g.Send("bob", "after")
		}},
		{"edits and reactions before their message", false, func(env *projectiontest.Env) {
			g := env.CreateGroup("g", "alice", "bob")
			m := message(g, "alice", "early changes")
			env.Append(g.ID,
				events.MessageEdited{SessionID: g.ID, MessageID: m.MessageID, Seq: m.Seq, By: "alice", Content: "never", EditedAt: env.Now()},
				events.ReactionAdded{SessionID: g.ID, MessageID: m.MessageID, Seq: m.Seq, UserID: "bob", Emoji: "👍", At: env.Now()})
			env.Append(g.ID, m)
			g.React("alice", m, "👍")
			g.Send("bob", "after")
		}},
		{"edits and reactions of another session's message", false, func(env *projectiontest.Env) {
			a, b := env.CreateGroup("a", "alice", "bob"), env.CreateGroup("b", "alice", "bob")
			m := a.Send("alice", "stays")
			a.React("bob", m, "👍")
			env.Append(b.ID,
				events.MessageEdited{SessionID: b.ID, MessageID: m.MessageID, Seq: m.Seq, By: "alice", Content: "not here", EditedAt: env.Now()},
				events.ReactionAdded{SessionID: b.ID, MessageID: m.MessageID, Seq: m.Seq, UserID: "alice", Emoji: "👀", At: env.Now()},
				events.ReactionRemoved{SessionID: b.ID, MessageID: m.MessageID, Seq: m.Seq, UserID: "bob", Emoji: "👍", At: env.Now()})
		}},
		{"a reply whose replyTo is no message id", false, func(env *projectiontest.Env) {
			g := env.CreateGroup("g", "alice", "bob")
			g.Reply("alice", "to nothing", events.MessageSent{MessageID: "not-a-uuid"})
		}},
		{"recall of another session's message", false, func(env *projectiontest.Env) {
			a, b := env.CreateGroup("a", "alice", "bob"), env.CreateGroup("b", "alice", "bob")
			m := a.Send("alice", "stays")
			env.Append(b.ID, events.MessageRecalled{SessionID: b.ID, MessageID: m.MessageID, Seq: m.Seq, By: "alice", RecalledAt: env.Now()})
		}},
		{"message before its session", false, func(env *projectiontest.Env) {
			id := "g:" + uuid.NewString()
			s := &projectiontest.SessionLog{Env: env, ID: id}
			s.Send("alice", "nobody here yet")
			s.Received("alice", 1)
			env.Append(id, events.SessionCreated{SessionID: id, Kind: events.KindGroup, Title: "late", Owner: "alice",
				Members: []string{"alice", "bob", "alice"}, CreatedAt: env.Now()})
			env.Append(id, events.SessionCreated{SessionID: id, Kind: events.KindGroup, Title: "again", Owner: "bob",
				Members: []string{"carol"}, CreatedAt: env.Now()})
			s.Add("alice", "bob", "dave", "dave")
			s.Read("bob", 1)
		}},
		{"member added again below their watermarks", false, func(env *projectiontest.Env) {
			g := env.CreateGroup("g", "alice", "bob")
			g.Send("alice", "1")
			g.Send("alice", "2")
			g.Read("bob", 2)
			env.Append(g.ID, events.MembersAdded{SessionID: g.ID, Members: []string{"bob", "carol"}, By: "alice", AtSeq: 1})
			g.Received("carol", 2)
		}},
		{"seqs out of order", false, func(env *projectiontest.Env) {
			g := env.CreateGroup("g", "alice", "bob")
			first, second := message(g, "alice", "1"), message(g, "alice", "2")
			env.Append(g.ID, second)
			env.Append(g.ID, first)
		}},
		{"edit before its message, edit after its recall", false, func(env *projectiontest.Env) {
			g := env.CreateGroup("g", "alice", "bob")
			m := message(g, "alice", "original words")
			editMessage(g, m, "too early to edit")
			env.Append(g.ID, m)
			editMessage(g, m, "edited words")
			g.Recall(m)
			editMessage(g, m, "too late to edit")
		}},
		{"erasures", false, func(env *projectiontest.Env) {
			g := env.CreateGroup("g", "alice", "bob")
			var old []events.MessageSent
			for i := range 12 { // a load copying 5 rows has written most of them
				old = append(old, g.SendExt("alice", fmt.Sprintf("alice said %d", i), `{"k": 1}`))
				g.Send("bob", fmt.Sprintf("bob said %d", i))
			}
			g.Edit(old[0], "edited before the erasure")
			g.React("bob", old[1], "👍")
			g.Recall(old[2])
			env.Erase("alice", "admin")
			env.Erase("nobody", "admin") // no message: changes nothing
			g.Edit(old[3], "edited after the erasure: stays erased")
			g.Edit(old[11], "held by the load: stays erased")
			g.React("bob", old[4], "🎉")
			g.Recall(old[5])
			later := g.Send("alice", "said after the erasure: kept")
			g.Edit(later, "edited after the erasure: kept")
			env.Erase("alice", "alice") // again: the later message stays
			g.Send("alice", "after the second erasure")
		}},
		{"message repeated", true, func(env *projectiontest.Env) {
			g := env.CreateGroup("g", "alice", "bob")
			m := g.Send("alice", "once")
			env.Append(g.ID, m)
			g.Recall(m)
			g.Send("bob", "after")
		}},
		{"seq repeated", true, func(env *projectiontest.Env) {
			g := env.CreateGroup("g", "alice", "bob")
			m := g.Send("alice", "first")
			m2 := m
			m2.MessageID, m2.Content = uuid.NewString(), "second"
			env.Append(g.ID, m2)
			g.Recall(m2)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			env := projectiontest.New(t)
			shape := testShape()
			shape.events = 100
			appendMixed(t, env, mixedLog(shape, 31))
			tc.write(env)
			shape.directs = 0 // new groups only: a direct session exists already
			appendMixed(t, env, mixedLog(shape, 32))
			var logged syncBuffer
			if _, err := projections.RebuildAllSized(ctx, env.Store, env.Pool, nil,
				slog.New(slog.NewTextHandler(&logged, nil)), 7, 5); err != nil {
				t.Fatal(err)
			}
			if fellBack := strings.Contains(logged.String(), "replaying event by event"); fellBack != tc.fallback {
				t.Errorf("replayed event by event: %v, want %v\n%s", fellBack, tc.fallback, logged.String())
			}
			if got, want := dumpRows(t, env), freshBuild(t, env); got != want {
				t.Errorf("rebuilt read models differ from a live build of the same log:\n%s\nwant:\n%s", got, want)
			}
		})
	}
}

// message returns the next message of s without appending it.
func message(s *projectiontest.SessionLog, sender, content string) events.MessageSent {
	s.Seq++
	now := s.Env.Now()
	return events.MessageSent{SessionID: s.ID, MessageID: uuid.NewString(), Seq: s.Seq, SenderID: sender,
		MessageType: 1, Content: content, ClientMessageID: uuid.NewString(),
		ClientTimestamp: now, ServerTimestamp: now, AdjustedTimestamp: now}
}

// TestBulkRebuildStopsWhereLiveStops checks that a bulk load refuses the
// event at which the live projection stops, also when the row that makes
// PostgreSQL refuse it would be folded away before being written.
func TestBulkRebuildStopsWhereLiveStops(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name       string
		projection projections.Projection
		write      func(g *projectiontest.SessionLog) events.AppendResult
	}{
		{"member id with U+0000, removed again", projections.Sessions(), func(g *projectiontest.SessionLog) events.AppendResult {
			res := g.Env.Append(g.ID, events.MembersAdded{SessionID: g.ID, Members: []string{"mall\x00ory"}, By: "alice", AtSeq: g.Seq})
			g.Remove("alice", "mall\x00ory")
			return res
		}},
		{"sender id with U+0000, recalled", projections.History(), func(g *projectiontest.SessionLog) events.AppendResult {
			m := message(g, "mall\x00ory", "hi")
			res := g.Env.Append(g.ID, m)
			g.Recall(m)
			return res
		}},
		{"reaction by a user id with U+0000, recalled", projections.History(), func(g *projectiontest.SessionLog) events.AppendResult {
			m := g.Send("alice", "react")
			res := g.Env.Append(g.ID, events.ReactionAdded{SessionID: g.ID, MessageID: m.MessageID, Seq: m.Seq,
				UserID: "mall\x00ory", Emoji: "👍"})
			g.Recall(m)
			return res
		}},
		{"ack by a user id with U+0000", projections.Sessions(), func(g *projectiontest.SessionLog) events.AppendResult {
			return g.Env.Append(g.ID, events.MessagesRead{SessionID: g.ID, UserID: "x\x00", UpToSeq: 1})
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			env := projectiontest.New(t)
			g := env.CreateGroup("g", "alice", "bob")
			g.Send("alice", "before")
			bad := tc.write(g)
			g.Send("bob", "after")
			r := env.StartRunner(projections.RunnerConfig{Projections: []projections.Projection{tc.projection},
				RetryBackoff: 10 * time.Millisecond})
			waitFor(t, "the live projection to stop", func() bool { return statusOf(r, tc.projection.Name()).Failing })
			if got := env.Checkpoint(tc.projection.Name()); got >= int64(bad.Position) {
				t.Fatalf("live projection went past the bad event at %d to %d", bad.Position, got)
			}
			env.WaitHead()
			_, err := projections.RebuildAllSized(ctx, env.Store, env.Pool, []projections.Projection{tc.projection}, nil, 3, 2)
			var ee *projections.EventError
			if !errors.As(err, &ee) || ee.Position != bad.Position {
				t.Fatalf("rebuild: %v; want the EventError of the event at %d", err, bad.Position)
			}
			if n := copies(t, env); n != 0 {
				t.Errorf("%d copies left", n)
			}
		})
	}
}
