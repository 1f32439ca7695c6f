package delivery

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/tellyou/tellyou/events"
)

// Positions in these tests: the stream's version v is at position 10*v, so
// the event before version v is at 10*(v-1).

func ev(stream string, version int64) *event {
	return &event{streamID: stream, version: version, position: events.Position(10 * version)}
}

// runOf is a fast-path run of versions first..last of stream.
func runOf(stream string, first, last int64) appendOf {
	r := appendOf{streamID: stream, after: events.Position(10 * (first - 1))}
	for v := first; v <= last; v++ {
		e := ev(stream, v)
		e.position = events.Position(10 * last) // a fast path knows the append's last position
		r.events = append(r.events, e)
	}
	return r
}

func versions(out []*event) []string {
	var s []string
	for _, e := range out {
		s = append(s, fmt.Sprintf("%s@%d", e.streamID, e.version))
	}
	return s
}

func expect(t *testing.T, step string, got []*event, want ...string) {
	t.Helper()
	if g := versions(got); !slices.Equal(g, want) {
		t.Fatalf("%s: delivered %v, want %v", step, g, want)
	}
}

var t0 = time.Unix(1_700_000_000, 0)

func TestSequencerFastPathFirstThenFollowerCopies(t *testing.T) {
	q := newSequencer(3*time.Second, time.Minute)
	expect(t, "start", q.markFollowed(0))
	expect(t, "fast 1-2", q.offerRun(t0, runOf("s", 1, 2)), "s@1", "s@2")
	expect(t, "fast 3", q.offerRun(t0, runOf("s", 3, 3)), "s@3")
	for v := int64(1); v <= 3; v++ {
		expect(t, fmt.Sprint("follower copy ", v), q.offerFollowed(t0, ev("s", v)))
	}
	expect(t, "follower 4, no fast path", q.offerFollowed(t0, ev("s", 4)), "s@4")
	expect(t, "late fast copy of 4", q.offerRun(t0, runOf("s", 4, 4)))
	if q.repeated != 4 {
		t.Fatalf("repeated = %d, want 4", q.repeated)
	}
}

func TestSequencerHoldsARunUntilTheOneBefore(t *testing.T) {
	q := newSequencer(3*time.Second, time.Minute)
	q.markFollowed(0)
	expect(t, "fast 1", q.offerRun(t0, runOf("s", 1, 1)), "s@1")
	expect(t, "bus 3-4 before 2", q.offerRun(t0, runOf("s", 3, 4)))
	expect(t, "bus 6 before 5", q.offerRun(t0, runOf("s", 6, 6)))
	expect(t, "2 arrives", q.offerRun(t0, runOf("s", 2, 2)), "s@2", "s@3", "s@4")
	expect(t, "follower 5 fills the gap", q.offerFollowed(t0, ev("s", 5)), "s@5", "s@6")
}

// TestSequencerUnknownSessionWaitsForTheFollower: a node that has not seen a
// session gets a run whose predecessor the follower has not handled yet; it
// waits, and the follower's predecessor comes first.
func TestSequencerUnknownSessionWaitsForTheFollower(t *testing.T) {
	q := newSequencer(3*time.Second, time.Minute)
	q.markFollowed(20) // the node started at position 20: s@1 and s@2 are history
	expect(t, "fast 4 while the follower is at 20", q.offerRun(t0, runOf("s", 4, 4)))
	expect(t, "follower 3", q.offerFollowed(t0, ev("s", 3)), "s@3", "s@4")
	expect(t, "follower copy 4", q.offerFollowed(t0, ev("s", 4)))

	expect(t, "unknown session whose predecessor the follower has passed", q.offerRun(t0, runOf("u", 3, 3)), "u@3")
	expect(t, "unknown session whose predecessor the follower has not passed", q.offerRun(t0, runOf("w", 4, 4)))
	expect(t, "the follower passes w@3 (another shard had it)", q.markFollowed(30), "w@4")
	fresh := runOf("n", 1, 2)
	for _, e := range fresh.events {
		e.position = 50 // appended after the follower's position
	}
	expect(t, "first events of a new stream", q.offerRun(t0, fresh), "n@1", "n@2")
}

func TestSequencerReleasesUnanchoredRunsWhenTheFollowerPassesTheirPredecessor(t *testing.T) {
	q := newSequencer(3*time.Second, time.Minute)
	expect(t, "before the follower started", q.offerRun(t0, runOf("s", 5, 6)))
	expect(t, "follower starts at 40", q.markFollowed(40), "s@5", "s@6")
}

func TestSequencerDeliversAfterTheHoldTimeout(t *testing.T) {
	q := newSequencer(3*time.Second, time.Minute)
	q.markFollowed(0)
	expect(t, "fast 1", q.offerRun(t0, runOf("s", 1, 1)), "s@1")
	expect(t, "fast 3", q.offerRun(t0, runOf("s", 3, 3)))
	out, skipped := q.expire(t0.Add(time.Second))
	expect(t, "expire before the timeout", out)
	out, skipped = q.expire(t0.Add(3 * time.Second))
	expect(t, "expire at the timeout", out, "s@3")
	if skipped != 1 {
		t.Fatalf("skipped %d gaps, want 1", skipped)
	}
	// The skipped 2 comes later: it is pushed then, once, whichever way its
	// copies come.
	expect(t, "the missing 2, late, by the follower", q.offerFollowed(t0, ev("s", 2)), "s@2")
	expect(t, "a fast copy of 2", q.offerRun(t0, runOf("s", 2, 2)))
	expect(t, "the follower goes on", q.offerFollowed(t0, ev("s", 3)))
	expect(t, "follower 4", q.offerFollowed(t0, ev("s", 4)), "s@4")

	// A late run by a fast path, overlapping a skipped version and one
	// delivered.
	expect(t, "fast 5", q.offerRun(t0, runOf("s", 5, 5)), "s@5")
	expect(t, "fast 8 before 6 and 7", q.offerRun(t0, runOf("s", 8, 8)))
	out, _ = q.expire(t0.Add(10 * time.Second))
	expect(t, "expire", out, "s@8")
	expect(t, "fast 6-7, late", q.offerRun(t0, runOf("s", 6, 7)), "s@6", "s@7")
	for v := int64(6); v <= 8; v++ {
		expect(t, fmt.Sprint("follower copy ", v), q.offerFollowed(t0, ev("s", v)))
	}
}

func TestSequencerForgetsPassedSessionsAndDropsLateCopies(t *testing.T) {
	q := newSequencer(3*time.Second, time.Minute)
	q.markFollowed(0)
	expect(t, "fast 1-2", q.offerRun(t0, runOf("s", 1, 2)), "s@1", "s@2")
	q.expire(t0.Add(2 * time.Minute))
	if len(q.sessions) != 1 {
		t.Fatal("forgot a session the follower has not passed")
	}
	q.offerFollowed(t0, ev("s", 1))
	q.offerFollowed(t0, ev("s", 2))
	q.markFollowed(20)
	q.expire(t0.Add(30 * time.Second))
	if len(q.sessions) != 1 {
		t.Fatal("forgot a session touched less than ForgetAfter ago")
	}
	q.expire(t0.Add(2 * time.Minute))
	if len(q.sessions) != 0 {
		t.Fatalf("kept %d sessions, want none", len(q.sessions))
	}
	expect(t, "a late bus copy of 1-2", q.offerRun(t0, runOf("s", 1, 2)))
	expect(t, "the next event, by fast path", q.offerRun(t0, runOf("s", 3, 3)), "s@3")
}

func TestSequencerRunsOverlappingWhatWasDelivered(t *testing.T) {
	q := newSequencer(3*time.Second, time.Minute)
	q.markFollowed(0)
	expect(t, "follower 1", q.offerFollowed(t0, ev("s", 1)), "s@1")
	expect(t, "follower 2", q.offerFollowed(t0, ev("s", 2)), "s@2")
	expect(t, "fast 1-3 overlapping", q.offerRun(t0, runOf("s", 1, 3)), "s@3")
	expect(t, "held 5-6, then 4", q.offerRun(t0, runOf("s", 5, 6)))
	expect(t, "4-5", q.offerRun(t0, runOf("s", 4, 5)), "s@4", "s@5", "s@6")
}
