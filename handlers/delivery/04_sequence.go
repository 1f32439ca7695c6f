package delivery

import (
	"slices"
	"time"

	"github.com/tellyou/tellyou/events"
)

// The sequencer puts the events of each session into version order and drops
// copies, whichever way they come: the fast path of this node, the bus from
// other nodes, and this node's follower of the log, which sees every event
// once, in log order, and is therefore the authority.
//
// For a session it has delivered events of, it knows the next version due:
// an event below it is a copy and is dropped, the next one is delivered, and
// one beyond it waits for the ones in between (held).
//
// For a session it knows nothing of (never seen, or forgotten), a run of
// events that came by a fast path is a copy if the follower has already
// passed its position (it handled every event of it). Otherwise the run
// carries the position of the session's event before it (after): if the
// follower has handled that one (followed >= after), everything before the
// run was delivered or is older than this node's start, and the run is
// delivered and anchors the session. If not, the event before is still on its
// way, by one path or the other, and the run waits; the follower's next event
// of the session anchors it. The follower's own events are always delivered
// when they are not copies.
//
// A session is forgotten once the follower has passed every event delivered
// of it (last <= followed), nothing waits, and nothing came for
// forgetAfter: a copy that comes later carries a position the follower has
// passed and is dropped. A run held longer than holdTimeout (the follower is
// stalled, or a node died between commit and publish while this node cannot
// read the log) is delivered anyway, rather than all of a session's pushes
// stopping; the versions it skipped are remembered, and the first copy of one
// that comes later (the follower brings each once it reads the log again) is
// delivered late, out of order, instead of being dropped: a client keeps
// messages in seq order and drops repeats, but a push it is never sent it
// learns of only by a sync, which a connected client has no reason to make.
type sequencer struct {
	sessions map[string]*sessionOrder
	// followed is the position of the last event the follower handed over
	// (the log's head when the follower started, before it handed any).
	followed events.Position
	// unanchored names the sessions whose runs wait without a known next
	// version.
	unanchored  map[string]struct{}
	holdTimeout time.Duration
	forgetAfter time.Duration
	// repeated counts the copies dropped since the caller last took it.
	repeated int
}

// sessionOrder is where one session stands.
type sessionOrder struct {
	// next is the version due; 0 when not known yet (runs wait).
	next int64
	// last is the highest position of an event delivered.
	last events.Position
	// held are runs waiting for the events before them, by first version.
	held []heldRun
	// touched is when anything last came for the session.
	touched time.Time
	// skipped are versions below next that expire passed over without
	// delivering them (at most maxSkipped): each is delivered when it comes.
	skipped map[int64]struct{}
}

// maxSkipped bounds the versions a session remembers as skipped; a gap wider
// than that is left to the client's sync.
const maxSkipped = 4096

// late reports whether version, below next, was skipped and not delivered
// since, and forgets it: it is to be delivered now.
func (s *sessionOrder) late(version int64) bool {
	if _, ok := s.skipped[version]; !ok {
		return false
	}
	delete(s.skipped, version)
	return true
}

// skip remembers the versions from next up to (not including) version as
// skipped.
func (s *sessionOrder) skip(version int64) {
	if s.next == 0 {
		return // not anchored: what came before is unknown
	}
	for v := s.next; v < version && len(s.skipped) < maxSkipped; v++ {
		if s.skipped == nil {
			s.skipped = make(map[int64]struct{})
		}
		s.skipped[v] = struct{}{}
	}
}

type heldRun struct {
	run   appendOf
	since time.Time
}

func newSequencer(holdTimeout, forgetAfter time.Duration) *sequencer {
	return &sequencer{sessions: make(map[string]*sessionOrder), unanchored: make(map[string]struct{}),
		holdTimeout: holdTimeout, forgetAfter: forgetAfter}
}

// offerRun takes a run that came by a fast path and returns the events to
// deliver now, in order: the run's new ones and any held run it unblocks.
func (q *sequencer) offerRun(now time.Time, run appendOf) []*event {
	s := q.sessions[run.streamID]
	if s == nil {
		if run.lastPosition() <= q.followed {
			q.repeated += len(run.events) // the follower has handled all of it
			return nil
		}
		s = &sessionOrder{touched: now}
		q.sessions[run.streamID] = s
		if run.after > q.followed && run.firstVersion() > 1 {
			s.held = append(s.held, heldRun{run: run, since: now})
			q.unanchored[run.streamID] = struct{}{}
			return nil
		}
		s.next = run.firstVersion()
	}
	s.touched = now
	if s.next == 0 {
		s.hold(run, now)
		return nil
	}
	if run.firstVersion() > s.next {
		s.hold(run, now)
		return nil
	}
	out := q.take(s, run, nil)
	return q.release(s, out)
}

// offerFollowed takes an event the follower handed over and returns the
// events to deliver now, in order.
func (q *sequencer) offerFollowed(now time.Time, e *event) []*event {
	s := q.sessions[e.streamID]
	if s == nil {
		s = &sessionOrder{}
		q.sessions[e.streamID] = s
	}
	s.touched = now
	if s.next == 0 {
		delete(q.unanchored, e.streamID)
	} else if e.version < s.next {
		if s.late(e.version) {
			s.last = max(s.last, e.position)
			return []*event{e}
		}
		q.repeated++ // delivered by a fast path
		return nil
	}
	// The follower is the authority: whatever came before e was handed over
	// by it already.
	s.next = e.version + 1
	s.last = max(s.last, e.position)
	return q.release(s, []*event{e})
}

// markFollowed records that the follower has handed over every event up to
// pos, and returns the held runs that this unblocks.
func (q *sequencer) markFollowed(pos events.Position) []*event {
	q.followed = max(q.followed, pos)
	var out []*event
	for id := range q.unanchored {
		s := q.sessions[id]
		if len(s.held) == 0 || s.held[0].run.after > q.followed {
			continue
		}
		delete(q.unanchored, id)
		s.next = s.held[0].run.firstVersion()
		out = append(out, q.release(s, nil)...)
	}
	return out
}

// expire delivers the runs held longer than holdTimeout, skipping the
// missing events before them, and forgets the sessions the follower has
// passed that were left alone for forgetAfter. It returns the events to
// deliver and how many gaps it skipped.
func (q *sequencer) expire(now time.Time) ([]*event, int) {
	var out []*event
	skipped := 0
	for id, s := range q.sessions {
		if len(s.held) > 0 && now.Sub(s.held[0].since) >= q.holdTimeout {
			delete(q.unanchored, id)
			s.skip(s.held[0].run.firstVersion())
			s.next = max(s.next, s.held[0].run.firstVersion())
			skipped++
			out = append(out, q.release(s, nil)...)
		}
		if len(s.held) == 0 && s.last <= q.followed && now.Sub(s.touched) >= q.forgetAfter {
			delete(q.sessions, id)
		}
	}
	return out, skipped
}

// hold queues a run until the events before it are delivered.
func (s *sessionOrder) hold(run appendOf, now time.Time) {
	i, _ := slices.BinarySearchFunc(s.held, run.firstVersion(), func(h heldRun, v int64) int {
		return int(h.run.firstVersion() - v)
	})
	s.held = slices.Insert(s.held, i, heldRun{run: run, since: now})
}

// take appends to out the events of run from the session's next version
// on, and moves next past them.
func (q *sequencer) take(s *sessionOrder, run appendOf, out []*event) []*event {
	for _, e := range run.events {
		if e.version < s.next {
			if s.late(e.version) {
				out = append(out, e)
				s.last = max(s.last, e.position)
				continue
			}
			q.repeated++
			continue
		}
		out = append(out, e)
		s.next = e.version + 1
		s.last = max(s.last, e.position)
	}
	return out
}

// release appends to out the session's held runs that its next version
// reaches, in order, dropping what it has passed.
func (q *sequencer) release(s *sessionOrder, out []*event) []*event {
	for len(s.held) > 0 && s.held[0].run.firstVersion() <= s.next {
		out = q.take(s, s.held[0].run, out)
		s.held[0] = heldRun{}
		s.held = s.held[1:]
	}
	if len(s.held) == 0 {
		s.held = nil
	}
	return out
}
