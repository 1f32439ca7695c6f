package ws

import (
	"strconv"
	"testing"
)

func TestFrameQueueKeepsOrderAcrossGrowthAndWrapAround(t *testing.T) {
	t.Parallel()
	var q frameQueue
	next, want, bytes := 0, 0, 0
	push := func(n int) {
		for range n {
			f := []byte(strconv.Itoa(next))
			q.push(f)
			bytes += len(f)
			next++
		}
	}
	pop := func(n int) {
		for range n {
			f, ok := q.pop()
			if !ok || string(f) != strconv.Itoa(want) {
				t.Fatalf("pop = %q, %v; want %d", f, ok, want)
			}
			bytes -= len(f)
			want++
		}
	}
	// Interleaved pushes and pops move the head around the ring while it
	// grows from 4 to 128 slots.
	for _, step := range []struct{ push, pop int }{{3, 2}, {5, 1}, {7, 6}, {20, 3}, {30, 10}, {21, 0}, {60, 0}} {
		push(step.push)
		pop(step.pop)
		if q.bytes != bytes {
			t.Fatalf("the queue counts %d bytes, holds %d", q.bytes, bytes)
		}
	}
	if q.len() != 124 {
		t.Fatalf("%d queued, want 124", q.len())
	}
	pop(124)
	if _, ok := q.pop(); ok || q.bytes != 0 {
		t.Fatalf("pop from an empty queue, %d bytes counted", q.bytes)
	}
}

func TestFrameQueueHoldsNoSlotsOnceDrained(t *testing.T) {
	t.Parallel()
	var q frameQueue
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
