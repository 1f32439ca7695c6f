package ws

import (
	"testing"
	"time"
)

func TestResendHoldRefusesOtherSendsUntilTheRefusedOneComesBack(t *testing.T) {
	t.Parallel()
	var h resendHold
	t0 := time.Unix(1_700_000_000, 0)
	if w := h.check("c1", t0); w != 0 {
		t.Fatalf("no refusal yet: check = %v, want 0", w)
	}
	// c3 is refused first, then c2, read before it: c2 is held.
	h.refused("c3", t0.Add(3*time.Millisecond), 100*time.Millisecond, t0.Add(10*time.Millisecond))
	h.refused("c2", t0.Add(2*time.Millisecond), 100*time.Millisecond, t0.Add(11*time.Millisecond))
	h.refused("c4", t0.Add(4*time.Millisecond), 100*time.Millisecond, t0.Add(12*time.Millisecond))
	// c5, read after the retry time, before c2 came back: refused.
	if w := h.check("c5", t0.Add(200*time.Millisecond)); w != minHoldRetry {
		t.Fatalf("c5 past the retry time: check = %v, want %v", w, minHoldRetry)
	}
	if w := h.check("c3", t0.Add(50*time.Millisecond)); w != 61*time.Millisecond {
		t.Fatalf("c3 before the retry time: check = %v, want 61ms", w)
	}
	// c2 comes back: it and everything after it go on.
	for _, cid := range []string{"c2", "c3", "c4", "c5"} {
		if w := h.check(cid, t0.Add(300*time.Millisecond)); w != 0 {
			t.Fatalf("%s after c2 came back: check = %v, want 0", cid, w)
		}
	}
	// A refused send never resent holds the others only until the grace ends.
	h.refused("c6", t0.Add(time.Second), 100*time.Millisecond, t0.Add(time.Second))
	if w := h.check("c7", t0.Add(time.Second+resendGrace)); w == 0 {
		t.Fatal("c7 within the grace: let through")
	}
	if w := h.check("c7", t0.Add(time.Second+100*time.Millisecond+resendGrace)); w != 0 {
		t.Fatalf("c7 after the grace: check = %v, want 0", w)
	}
}
