package ws

import (
	"strconv"
	"testing"
)

func TestFrameQueueKeepsOrderAcrossGrowthAndWrapAround(t *testing.T) {
	t.Parallel()
	q := newFrameQueue(64)
	next, want := 0, 0
	push := func(n int) {
		for range n {
			if !q.push([]byte(strconv.Itoa(next))) {
				t.Fatalf("push %d refused with %d queued", next, q.len())
			}
			next++
		}
	}
	pop := func(n int) {
		for range n {
			f, ok := q.pop()
			if !ok || string(f) != strconv.Itoa(want) {
				t.Fatalf("pop = %q, %v; want %d", f, ok, want)
			}
			want++
		}
	}
	// Interleaved pushes and pops move the head around the ring while it
	// grows from 4 to 64 slots.
	for _, step := range []struct{ push, pop int }{{3, 2}, {5, 1}, {7, 6}, {20, 3}, {30, 10}, {21, 0}} {
		push(step.push)
		pop(step.pop)
	}
	if q.len() != 64 {
		t.Fatalf("%d queued, want 64", q.len())
	}
	if q.push([]byte("over")) {
		t.Fatal("push past the limit accepted")
	}
	pop(64)
	if _, ok := q.pop(); ok {
		t.Fatal("pop from an empty queue")
	}
}

func TestFrameQueueHoldsNoSlotsOnceDrained(t *testing.T) {
	t.Parallel()
	q := newFrameQueue(256)
	if q.slots != nil {
		t.Fatalf("a new queue holds %d slots", len(q.slots))
	}
	for i := range 100 {
		q.push([]byte{byte(i)})
	}
	if len(q.slots) < 100 || len(q.slots) > 256 {
		t.Fatalf("%d slots for 100 frames", len(q.slots))
	}
	for range 100 {
		q.pop()
	}
	if q.slots != nil {
		t.Fatalf("a drained queue keeps %d slots", len(q.slots))
	}
	// A queue that never grew past its first slots keeps them.
	q.push([]byte("a"))
	q.pop()
	if len(q.slots) != minQueueSlots {
		t.Fatalf("a drained small queue holds %d slots, want %d", len(q.slots), minQueueSlots)
	}
}

func TestFrameQueueLimitBelowTheFirstSlots(t *testing.T) {
	t.Parallel()
	q := newFrameQueue(1)
	if !q.push([]byte("a")) || q.push([]byte("b")) {
		t.Fatal("a queue of one takes one frame")
	}
	if len(q.slots) != 1 {
		t.Fatalf("%d slots for a limit of 1", len(q.slots))
	}
}
