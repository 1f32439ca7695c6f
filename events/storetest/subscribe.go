package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/tellyou/tellyou/events"
)

// subscription runs Subscribe in a goroutine and passes on the events of the
// subtest's streams, checking what every batch must satisfy.
type subscription struct {
	events chan events.RecordedEvent
	done   chan error
	cancel context.CancelFunc
}

func subscribe(t *testing.T, s events.Store, st streams, after events.Position, batchSize int) *subscription {
	t.Helper()
	ctx, cancel := context.WithCancel(testContext(t, 5*eventually))
	sub := &subscription{events: make(chan events.RecordedEvent, 1000), done: make(chan error, 1), cancel: cancel}
	var inHandle atomic.Bool
	last := after
	handle := func(ctx context.Context, batch []events.RecordedEvent) error {
		if !inHandle.CompareAndSwap(false, true) {
			return errors.New("handle called concurrently")
		}
		defer inHandle.Store(false)
		if len(batch) == 0 || len(batch) > batchSize {
			return fmt.Errorf("batch of %d events, want 1 to %d", len(batch), batchSize)
		}
		for _, e := range batch {
			if e.Position <= last {
				return fmt.Errorf("event at position %d delivered after position %d", e.Position, last)
			}
			last = e.Position
			if !st.ours(e.StreamID) {
				continue
			}
			select {
			case sub.events <- e:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		return nil
	}
	go func() { sub.done <- s.Subscribe(ctx, after, batchSize, handle) }()
	t.Cleanup(func() {
		cancel()
		<-sub.done
	})
	return sub
}

// next returns the subscription's next n events of the subtest.
func (sub *subscription) next(t *testing.T, n int) []events.RecordedEvent {
	t.Helper()
	timeout := time.After(eventually)
	var got []events.RecordedEvent
	for len(got) < n {
		select {
		case e := <-sub.events:
			got = append(got, e)
		case err := <-sub.done:
			sub.done <- err // for the cleanup
			t.Fatalf("subscription ended after %d of %d events: %v", len(got), n, err)
		case <-timeout:
			t.Fatalf("subscription delivered %d of %d events in %s", len(got), n, eventually)
		}
	}
	return got
}

// stop cancels the subscription and fails unless Subscribe returns ctx's error.
func (sub *subscription) stop(t *testing.T) {
	t.Helper()
	sub.cancel()
	select {
	case err := <-sub.done:
		sub.done <- err
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("cancelled subscription returned %v, want context.Canceled", err)
		}
	case <-time.After(eventually):
		t.Fatalf("subscription still running %s after its context was cancelled", eventually)
	}
}

func testSubscribeCatchesUpThenGoesLive(t *testing.T, s events.Store) {
	st := newStreams()
	a, b := st.name("a"), st.name("b")
	stored := newEvents(3, "stored")
	mustAppend(t, s, a, events.NoStream, stored)
	start := mustReadStream(t, s, a, 1, 1)[0].Position

	sub := subscribe(t, s, st, start, 2)
	caughtUp := sub.next(t, 2)
	if !slices.Equal(eventIDs(caughtUp), eventIDs(stored[1:])) {
		t.Fatalf("catch-up after the first event delivered %v, want %v", eventIDs(caughtUp), eventIDs(stored[1:]))
	}

	liveB := newEvents(1, "live-b")
	liveA := newEvents(2, "live-a")
	mustAppend(t, s, b, events.NoStream, liveB)
	mustAppend(t, s, a, 3, liveA)
	live := sub.next(t, 3)
	var gotA, gotB []uuid.UUID
	for _, e := range live {
		switch e.StreamID {
		case a:
			gotA = append(gotA, e.EventID)
		case b:
			gotB = append(gotB, e.EventID)
		}
	}
	if !slices.Equal(gotA, eventIDs(liveA)) || !slices.Equal(gotB, eventIDs(liveB)) {
		t.Fatalf("live delivery: %v of a and %v of b, want %v and %v", gotA, gotB, eventIDs(liveA), eventIDs(liveB))
	}
	all := slices.Concat(caughtUp, live)
	assertGlobalOrder(t, all)

	sub.stop(t)
	select {
	case e := <-sub.events:
		t.Fatalf("subscription delivered %s@%d more than appended", e.StreamID, e.Version)
	default:
	}
}

func testSubscribeStopsOnHandlerError(t *testing.T, s events.Store) {
	st := newStreams()
	mustAppend(t, s, st.name("s"), events.NoStream, newEvents(2, "e"))
	errHandler := errors.New("handler failed")
	var calls atomic.Int32
	done := make(chan error, 1)
	go func() {
		done <- s.Subscribe(testContext(t, eventually), 0, 10, func(context.Context, []events.RecordedEvent) error {
			calls.Add(1)
			return errHandler
		})
	}()
	select {
	case err := <-done:
		if !errors.Is(err, errHandler) {
			t.Fatalf("subscription returned %v, want the handler's error wrapped", err)
		}
	case <-time.After(2 * eventually):
		t.Fatal("subscription kept running after its handler failed")
	}
	if n := calls.Load(); n != 1 {
		t.Fatalf("handler called %d times, want once", n)
	}
}

func testSubscribeStopsOnCancel(t *testing.T, s events.Store) {
	st := newStreams()
	mustAppend(t, s, st.name("s"), events.NoStream, newEvents(1, "e"))

	// Cancelled while live, waiting for new events.
	sub := subscribe(t, s, st, 0, 10)
	sub.next(t, 1)
	sub.stop(t)

	// Cancelled before it starts.
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	err := s.Subscribe(ctx, 0, 10, func(context.Context, []events.RecordedEvent) error { return nil })
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("subscription with a cancelled context returned %v, want context.Canceled", err)
	}
}
