package projections_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/tellyou/tellyou/events"
	"github.com/tellyou/tellyou/projections"
	"github.com/tellyou/tellyou/projections/projectiontest"
)

// mixedShape sizes a mixed log.
type mixedShape struct {
	events, users, directs, groups int
	// longEvery is how rarely a message is longer than 2 KB.
	longEvery int
	// expireEvery, when above 0, is how rarely a burst ends with a
	// session's messages expiring (all but its last few) and, half as
	// often, a change of its retention; 0: never.
	expireEvery int
}

// benchShape is the log BenchmarkRebuildMixed rebuilds.
func benchShape() mixedShape {
	return mixedShape{events: 200_000, users: 500, directs: 1000, groups: 250, longEvery: 200}
}

// burst is events of one session appended in one call.
type burst struct {
	stream   string
	payloads []events.Payload
}

// mixedSession is what the generator of a mixed log knows of one session.
type mixedSession struct {
	id      string
	group   bool
	seq     int64
	members []string
	sent    []events.MessageSent // the latest messages, for recalls, edits, replies and reactions
	// reacted are reactions added, some of them removed since, for removals.
	reacted []events.ReactionAdded
}

// emojis are the reactions of a mixed log: few, so users often add one twice.
var emojis = []string{"👍", "❤️", "😂", "🎉"}

// testShape is a mixed log small enough for a test, with long messages
// often enough to have some.
func testShape() mixedShape {
	return mixedShape{events: 1500, users: 12, directs: 8, groups: 5, longEvery: 15, expireEvery: 30}
}

// mixedLog generates a log of the shape's size as a busy deployment writes
// it: direct sessions and groups (3 to 12 members); mostly ~100-byte messages
// (some longer than 2 KB, stored compressed), some of them replies, received
// and read acks, edits (some long), reactions added (sometimes again) and
// removed (sometimes never added), recalls of recent messages, members
// joining and leaving groups. Edits and reactions come to recalled messages
// too, as a log written by racing nodes may have them. Each burst is the
// events one append of a session would hold.
func mixedLog(shape mixedShape, seed uint64) []burst {
	rng := rand.New(rand.NewPCG(seed, seed))
	user := func() string { return fmt.Sprintf("user-%03d", rng.IntN(shape.users)) }
	clock := int64(1_700_000_000_000)
	now := func() int64 { clock += 7; return clock }
	// Content is cut from a long text at random places: its compression ratio
	// is that of prose.
	filler := strings.Repeat("the quick brown fox jumps over the lazy dog; ", 150)
	content := func() string {
		size := 80 + rng.IntN(40)
		if rng.IntN(shape.longEvery) == 0 {
			size = 2048 + rng.IntN(1024)
		}
		start := rng.IntN(len(filler) - size)
		return filler[start : start+size]
	}
	recent := func(s *mixedSession) events.MessageSent { return s.sent[rng.IntN(len(s.sent))] }
	message := func(s *mixedSession, sender string) events.MessageSent {
		s.seq++
		t := now()
		m := events.MessageSent{SessionID: s.id, MessageID: uuid.NewString(), Seq: s.seq, SenderID: sender,
			MessageType: 1, Content: content(), ClientMessageID: uuid.NewString(),
			ClientTimestamp: t - 3, ServerTimestamp: t, AdjustedTimestamp: t - 3}
		if len(s.sent) > 0 && rng.IntN(6) == 0 {
			m.ReplyTo = recent(s).MessageID
		}
		s.sent = append(s.sent, m)
		if len(s.sent) > 50 {
			s.sent = s.sent[1:]
		}
		return m
	}

	var out []burst
	var sessions []*mixedSession
	count := 0
	for range shape.directs { // a direct session starts with its first message
		a, b := user(), user()
		for a == b {
			b = user()
		}
		lo, hi := min(a, b), max(a, b)
		s := &mixedSession{id: "d:" + lo + ":" + hi, members: []string{lo, hi}}
		if exists(sessions, s.id) {
			continue
		}
		sessions = append(sessions, s)
		out = append(out, burst{s.id, []events.Payload{
			events.SessionCreated{SessionID: s.id, Kind: events.KindDirect, Members: s.members, CreatedAt: now()},
			message(s, a)}})
		count += 2
	}
	for i := range shape.groups {
		s := &mixedSession{id: "g:" + uuid.NewString(), group: true}
		for size := 3 + rng.IntN(10); len(s.members) < min(size, shape.users); {
			if u := user(); !contains(s.members, u) {
				s.members = append(s.members, u)
			}
		}
		sessions = append(sessions, s)
		out = append(out, burst{s.id, []events.Payload{events.SessionCreated{SessionID: s.id, Kind: events.KindGroup,
			Title: fmt.Sprintf("group %d", i), Owner: s.members[0], Members: s.members, CreatedAt: now()}}})
		count++
	}
	erased := false
	for count < shape.events {
		if !erased && count >= shape.events/2 {
			// One user is erased halfway: the rows of their earlier
			// messages are erased, their later ones are not.
			erased = true
			u := user()
			out = append(out, burst{events.UserStreamPrefix + u, []events.Payload{
				events.UserErased{UserID: u, By: "admin", ErasedAt: now()}}})
			count++
		}
		s := sessions[rng.IntN(len(sessions))]
		var ps []events.Payload
		for range 1 + rng.IntN(8) {
			u := s.members[rng.IntN(len(s.members))]
			switch r := rng.IntN(100); {
			case r < 55:
				ps = append(ps, message(s, u))
			case r < 69 && s.seq > 0:
				ps = append(ps, events.MessagesReceived{SessionID: s.id, UserID: u, UpToSeq: s.seq - rng.Int64N(min(s.seq, 3))})
			case r < 83 && s.seq > 0:
				ps = append(ps, events.MessagesRead{SessionID: s.id, UserID: u, UpToSeq: s.seq - rng.Int64N(min(s.seq, 5))})
			case r < 87 && len(s.sent) > 0:
				m := recent(s)
				ps = append(ps, events.MessageEdited{SessionID: s.id, MessageID: m.MessageID, Seq: m.Seq,
					By: m.SenderID, Content: content(), EditedAt: now()})
			case r < 93 && len(s.sent) > 0:
				m := recent(s)
				a := events.ReactionAdded{SessionID: s.id, MessageID: m.MessageID, Seq: m.Seq, UserID: u,
					Emoji: emojis[rng.IntN(len(emojis))], At: now()}
				if s.reacted = append(s.reacted, a); len(s.reacted) > 50 {
					s.reacted = s.reacted[1:]
				}
				ps = append(ps, a)
			case r < 96 && len(s.sent) > 0:
				m := recent(s)
				rm := events.ReactionRemoved{SessionID: s.id, MessageID: m.MessageID, Seq: m.Seq, UserID: u,
					Emoji: emojis[rng.IntN(len(emojis))], At: now()}
				if len(s.reacted) > 0 && rng.IntN(4) > 0 {
					a := s.reacted[rng.IntN(len(s.reacted))]
					rm.MessageID, rm.Seq, rm.UserID, rm.Emoji = a.MessageID, a.Seq, a.UserID, a.Emoji
				}
				ps = append(ps, rm)
			case r < 98 && len(s.sent) > 0:
				m := recent(s)
				ps = append(ps, events.MessageRecalled{SessionID: s.id, MessageID: m.MessageID, Seq: m.Seq,
					By: m.SenderID, RecalledAt: now()})
			case r < 99 && s.group:
				if nu := user(); !contains(s.members, nu) {
					s.members = append(s.members, nu)
					ps = append(ps, events.MembersAdded{SessionID: s.id, Members: []string{nu}, By: s.members[0], AtSeq: s.seq})
				}
			case s.group && len(s.members) > 3:
				gone := s.members[len(s.members)-1]
				s.members = s.members[:len(s.members)-1]
				ps = append(ps, events.MembersRemoved{SessionID: s.id, Members: []string{gone}, By: s.members[0]})
			}
		}
		if shape.expireEvery > 0 {
			switch r := rng.IntN(2 * shape.expireEvery); {
			case r < 2 && s.seq > 3:
				// Edits, reactions and recalls of expired messages may
				// follow: s.sent keeps them.
				ps = append(ps, events.MessagesExpired{SessionID: s.id, UpToSeq: s.seq - rng.Int64N(4), Before: now()})
			case r == 2:
				var days *int
				if rng.IntN(3) > 0 {
					d := 1 + rng.IntN(365)
					days = &d
				}
				ps = append(ps, events.SessionSettingsChanged{SessionID: s.id, By: s.members[0], RetentionDays: days, At: now()})
			}
		}
		if len(ps) > 0 {
			out = append(out, burst{s.id, ps})
			count += len(ps)
		}
	}
	return out
}

func exists(sessions []*mixedSession, id string) bool {
	for _, s := range sessions {
		if s.id == id {
			return true
		}
	}
	return false
}

// appendMixed appends the bursts from several writers, each session's in
// order, then one more group through env, which puts env's record of the
// last position past them all, and waits until the whole log is readable. It
// returns the number of events appended.
func appendMixed(tb testing.TB, env *projectiontest.Env, bursts []burst) int {
	tb.Helper()
	const writers = 8
	byWriter := make([][]burst, writers)
	for _, b := range bursts {
		w := int(hash(b.stream) % writers)
		byWriter[w] = append(byWriter[w], b)
	}
	var wg sync.WaitGroup
	errs := make([]error, writers)
	counts := make([]int, writers)
	for w := range writers {
		wg.Go(func() {
			for _, b := range byWriter[w] {
				data := make([]events.EventData, len(b.payloads))
				for i, p := range b.payloads {
					d, err := events.Encode(events.Envelope{Payload: p, Meta: events.Metadata{
						Actor: "bench", CorrelationID: "bench", OccurredAt: 1}})
					if err != nil {
						errs[w] = err
						return
					}
					data[i] = d
				}
				if _, err := env.Store.Append(context.Background(), b.stream, events.AnyVersion, data); err != nil {
					errs[w] = fmt.Errorf("append to %s: %w", b.stream, err)
					return
				}
				counts[w] += len(data)
			}
		})
	}
	wg.Wait()
	total := 1
	for w, err := range errs {
		if err != nil {
			tb.Fatal(err)
		}
		total += counts[w]
	}
	env.CreateGroup("the last", "user-000", "user-001")
	env.WaitHead()
	return total
}

func hash(s string) uint32 {
	h := uint32(2166136261)
	for i := range len(s) {
		h = (h ^ uint32(s[i])) * 16777619
	}
	return h
}

// BenchmarkRebuildMixed measures RebuildAll over a mixed log of 200,000
// events (see mixedLog): events of the log rebuilt into every read model per
// second of wall time, from the start of RebuildAll to the end of its switch.
//
// The database is analyzed once the log is written, as autovacuum does on a
// server that runs it: without statistics on the log's table, PostgreSQL
// plans each page of ReadAll as a scan of the whole log.
func BenchmarkRebuildMixed(b *testing.B) {
	env := projectiontest.New(b)
	n := appendMixed(b, env, mixedLog(benchShape(), 1))
	if _, err := env.Pool.Exec(ctx, "ANALYZE"); err != nil {
		b.Fatal(err)
	}
	b.Logf("log of %d events", n)
	var replayed int
	var elapsed time.Duration
	for b.Loop() {
		start := time.Now()
		stats, err := projections.RebuildAll(ctx, env.Store, env.Pool, nil, nil)
		if err != nil {
			b.Fatal(err)
		}
		elapsed += time.Since(start)
		replayed += stats[0].Events // every projection replays the whole log
	}
	b.ReportMetric(float64(replayed)/elapsed.Seconds(), "events/s")
}
