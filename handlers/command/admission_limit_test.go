package command

import (
	"errors"
	"testing"
	"time"
)

// fakeClock is a clock the test moves by hand.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time          { return c.t }
func (c *fakeClock) advance(d time.Duration) { c.t = c.t.Add(d) }

func enterN(t *testing.T, a *Admission, n int) {
	t.Helper()
	for i := range n {
		if err := a.enter(nil, false); err != nil {
			t.Fatalf("command %d of %d refused: %v", i+1, n, err)
		}
	}
}

func leaveN(a *Admission, n int) {
	for range n {
		a.leave()
	}
}

// TestInFlightBoundFollowsTheAnswerRate: while commands are refused, the
// node admits what it answers in TargetLatency at its measured rate; once
// none are, the bound grows back towards MaxInFlight.
func TestInFlightBoundFollowsTheAnswerRate(t *testing.T) {
	clock := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	a := newAdmission(AdmissionConfig{MaxInFlight: 1000, TargetLatency: 200 * time.Millisecond}, clock.now)

	enterN(t, a, 1000)
	var over *OverloadError
	if err := a.enter(nil, false); !errors.As(err, &over) {
		t.Fatalf("command 1001 with MaxInFlight 1000: got %v, want an *OverloadError", err)
	}

	// 500 answered in 250 ms: 2,000 a second, so 400 in 200 ms.
	leaveN(a, 500)
	clock.advance(rateEvery)
	if err := a.enter(nil, false); !errors.As(err, &over) {
		t.Fatalf("with 500 in flight and a rate of 2,000/s: got %v, want an *OverloadError", err)
	}
	if got := a.limit.Load(); got != 400 {
		t.Fatalf("in-flight bound after refusals at 2,000/s: %d, want 400", got)
	}

	// That refusal belongs to the quarter second now ending, which keeps the
	// bound; after one without refusals it doubles, up to the maximum.
	leaveN(a, 500)
	clock.advance(rateEvery)
	enterN(t, a, 1)
	if got := a.limit.Load(); got != 400 {
		t.Fatalf("in-flight bound after a quarter second with a refusal at 2,000/s: %d, want 400", got)
	}
	a.leave()
	clock.advance(rateEvery / 2) // 1 answered in 125 ms: 8 a second
	enterN(t, a, 1)
	clock.advance(rateEvery / 2)
	enterN(t, a, 1)
	if got := a.limit.Load(); got != 800 {
		t.Fatalf("in-flight bound after a quarter second without refusals: %d, want 800", got)
	}
	leaveN(a, 2)
	clock.advance(rateEvery)
	enterN(t, a, 1)
	if got := a.limit.Load(); got != 1000 {
		t.Fatalf("in-flight bound after another: %d, want MaxInFlight 1000", got)
	}
}

// TestInFlightBoundHasAFloor: a slow rate never bounds the node below 256
// commands in flight.
func TestInFlightBoundHasAFloor(t *testing.T) {
	clock := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	a := newAdmission(AdmissionConfig{MaxInFlight: 4096, TargetLatency: 100 * time.Millisecond}, clock.now)
	enterN(t, a, 4096)
	_ = a.enter(nil, false) // refused: marks the window
	leaveN(a, 10)           // 40 a second
	clock.advance(rateEvery)
	_ = a.enter(nil, false)
	if got := a.limit.Load(); got != minInFlight {
		t.Fatalf("in-flight bound at 40/s: %d, want the floor %d", got, minInFlight)
	}
}

// TestRetryHintsFormAWaitingLine: commands refused one after the other are
// told to come back one after the other, a slot apart at the answer rate,
// after the work in flight.
func TestRetryHintsFormAWaitingLine(t *testing.T) {
	clock := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	a := newAdmission(AdmissionConfig{MaxInFlight: 1000, TargetLatency: 500 * time.Millisecond, MinRetryAfter: time.Millisecond}, clock.now)
	enterN(t, a, 1000)
	leaveN(a, 500) // 2,000 a second: a slot is 0.5 ms
	clock.advance(rateEvery)
	enterN(t, a, 500) // back to 1,000 in flight, the bound (2,000 x 0.5 s)

	var hints []time.Duration
	for range 100 {
		var over *OverloadError
		if err := a.enter(nil, false); !errors.As(err, &over) {
			t.Fatalf("with the bound reached: got %v, want an *OverloadError", err)
		}
		hints = append(hints, over.RetryAfter)
	}
	// The first comes back once the 1,000 in flight are answered: 500 ms.
	if hints[0] != 500*time.Millisecond {
		t.Errorf("first retry hint %v, want 500ms (1,000 in flight at 2,000/s)", hints[0])
	}
	for i := 1; i < len(hints); i++ {
		if d := hints[i] - hints[i-1]; d != 500*time.Microsecond {
			t.Fatalf("hint %d is %v after hint %d, want one slot (500µs)", i, d, i-1)
		}
	}

	// A command refused by its closed gate takes a slot too.
	g := &Gate{}
	var over *OverloadError
	if err := a.enter(g, false); !errors.As(err, &over) {
		t.Fatalf("got %v, want an *OverloadError", err)
	}
	gated := a.enter(g, false)
	if !errors.As(gated, &over) {
		t.Fatalf("a command behind a closed gate: got %v, want an *OverloadError", gated)
	}
	if err := a.enter(nil, false); !errors.As(err, &over) || over.RetryAfter != hints[99]+3*500*time.Microsecond {
		t.Fatalf("the next refusal after a gated one: %v, want a hint of %v", err, hints[99]+3*500*time.Microsecond)
	}
}
