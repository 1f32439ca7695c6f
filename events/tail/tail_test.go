package tail_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tellyou/tellyou/events"
	"github.com/tellyou/tellyou/events/pgstore"
	"github.com/tellyou/tellyou/events/pgstore/pgtest"
	"github.com/tellyou/tellyou/events/tail"
)

// TestFollowersShareOneDecodedCopy runs two followers from the head: each
// gets every event appended after it, once, in order, decoded, and both get
// the very same decoded values (one decode per event for the process).
func TestFollowersShareOneDecodedCopy(t *testing.T) {
	t.Parallel()
	store, tl := newTail(t, tail.Config{})
	appendMessages(t, store, "before", 3) // before the tail starts: not followed
	runTail(t, tl)
	head, err := tl.Head(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	a, b := follow(t, tl, head), follow(t, tl, head)
	want := appendMessages(t, store, "after", 20)

	gotA, gotB := a.next(t, len(want)), b.next(t, len(want))
	for i := range want {
		if gotA[i].EventID != want[i] {
			t.Fatalf("follower a's event %d is %s, want %s", i, gotA[i].EventID, want[i])
		}
		if gotA[i] != gotB[i] {
			t.Fatalf("event %d was decoded twice: the followers got different values", i)
		}
		if gotA[i].DecodeErr != nil {
			t.Fatalf("event %d: %v", i, gotA[i].DecodeErr)
		}
		if m, ok := gotA[i].Envelope.Payload.(events.MessageSent); !ok || m.Seq != int64(i+1) {
			t.Fatalf("event %d decoded as %#v", i, gotA[i].Envelope.Payload)
		}
	}
}

// TestFollowerOlderThanTheWindowCatchesUpFromTheLog starts a follower at 0
// with a window far smaller than the log: it reads the old events from the
// log, joins the window and gets the new ones, each once, in order.
func TestFollowerOlderThanTheWindowCatchesUpFromTheLog(t *testing.T) {
	t.Parallel()
	store, tl := newTail(t, tail.Config{Window: 8, BatchSize: 5})
	old := appendMessages(t, store, "old", 30)
	runTail(t, tl)
	recent := appendMessages(t, store, "recent", 30) // the window keeps the last 8
	f := follow(t, tl, 0)
	more := appendMessages(t, store, "more", 10)

	want := append(append(old, recent...), more...)
	got := f.next(t, len(want))
	for i := range want {
		if got[i].EventID != want[i] {
			t.Fatalf("event %d is %s, want %s", i, got[i].EventID, want[i])
		}
		if i > 0 && got[i].Position <= got[i-1].Position {
			t.Fatalf("position %d after %d", got[i].Position, got[i-1].Position)
		}
	}
	f.none(t)
}

// TestSlowFollowerHoldsNobodyUp blocks one follower in its handler: another
// follower keeps getting events, and the blocked one, once released, gets
// everything it missed (from the log, as it fell out of the small window).
func TestSlowFollowerHoldsNobodyUp(t *testing.T) {
	t.Parallel()
	store, tl := newTail(t, tail.Config{Window: 4})
	runTail(t, tl)
	release := make(chan struct{})
	slowGot := make(chan *tail.Event, 100)
	ctx, cancel := context.WithCancel(context.Background())
	slowDone := make(chan error, 1)
	go func() {
		slowDone <- tl.Follow(ctx, 0, 1, func(_ context.Context, batch []*tail.Event) error {
			<-release
			for _, e := range batch {
				slowGot <- e
			}
			return nil
		})
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-slowDone; !errors.Is(err, context.Canceled) {
			t.Errorf("slow follower ended with %v", err)
		}
	})
	fast := follow(t, tl, 0)
	want := appendMessages(t, store, "m", 12)
	fast.next(t, len(want))
	close(release)
	for i, id := range want {
		select {
		case e := <-slowGot:
			if e.EventID != id {
				t.Fatalf("slow follower's event %d is %s, want %s", i, e.EventID, id)
			}
		case <-time.After(time.Minute):
			t.Fatalf("slow follower got %d of %d events after its release", i, len(want))
		}
	}
}

// TestUndecodableEventsArePassedOn appends an event no decoder knows: it
// reaches followers with its DecodeErr, between the others.
func TestUndecodableEventsArePassedOn(t *testing.T) {
	t.Parallel()
	store, tl, pool := newTailOnPool(t, tail.Config{})
	runTail(t, tl)
	f := follow(t, tl, 0)
	appendMessages(t, store, "a", 1)
	if _, err := store.Append(t.Context(), "odd", events.NoStream, []events.EventData{{
		EventID: uuid.New(), Type: "NoSuchType", Data: []byte(`{}`), Metadata: []byte(`{"schemaVersion":1}`),
	}}); err != nil {
		t.Fatal(err)
	}
	appendMessages(t, store, "b", 1)
	got := f.next(t, 3)
	if got[0].DecodeErr != nil || got[1].DecodeErr == nil || got[2].DecodeErr != nil {
		t.Fatalf("decode errors %v, %v, %v; want only the middle one", got[0].DecodeErr, got[1].DecodeErr, got[2].DecodeErr)
	}

	// An operator repairs it in the store: a follower that meets it reads
	// it again, not the window's copy.
	if _, err := pool.Exec(t.Context(), `UPDATE tellyou_events SET type = 'MessageRecalled',
		data = '{"sessionId":"odd","messageId":"m","seq":1,"by":"a","recalledAt":1}' WHERE position = $1`,
		int64(got[1].Position)); err != nil {
		t.Fatal(err)
	}
	again := follow(t, tl, got[0].Position).next(t, 2)
	if again[0].DecodeErr != nil || again[0].Type != "MessageRecalled" || again[1].EventID != got[2].EventID {
		t.Fatalf("after the repair: %+v, %v", again[0].RecordedEvent, again[0].DecodeErr)
	}
}

// TestSubscribeGivesRecordedEvents checks the Store-shaped Subscribe.
func TestSubscribeGivesRecordedEvents(t *testing.T) {
	t.Parallel()
	store, tl := newTail(t, tail.Config{})
	runTail(t, tl)
	want := appendMessages(t, store, "s", 5)
	got := make(chan events.RecordedEvent, 10)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	go func() {
		_ = tl.Subscribe(ctx, 0, 2, func(_ context.Context, batch []events.RecordedEvent) error {
			for _, r := range batch {
				got <- r
			}
			return nil
		})
	}()
	for i, id := range want {
		select {
		case r := <-got:
			if r.EventID != id {
				t.Fatalf("event %d is %s, want %s", i, r.EventID, id)
			}
		case <-time.After(time.Minute):
			t.Fatalf("got %d of %d events", i, len(want))
		}
	}
}

func newTail(t *testing.T, cfg tail.Config) (*pgstore.Store, *tail.Tail) {
	store, tl, _ := newTailOnPool(t, cfg)
	return store, tl
}

func newTailOnPool(t *testing.T, cfg tail.Config) (*pgstore.Store, *tail.Tail, *pgxpool.Pool) {
	t.Helper()
	pool := pgtest.NewPool(t)
	if err := pgstore.Migrate(t.Context(), pool); err != nil {
		t.Fatal(err)
	}
	store, err := pgstore.New(t.Context(), pool, pgstore.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(store.Close)
	cfg.Log = store
	tl, err := tail.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return store, tl, pool
}

func runTail(t *testing.T, tl *tail.Tail) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- tl.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("tail: %v", err)
		}
	})
	select {
	case <-tl.Ready():
	case <-time.After(time.Minute):
		t.Fatal("tail not ready")
	}
}

// appendMessages appends n MessageSent events to a stream of their own and
// returns their ids.
func appendMessages(t *testing.T, store events.Store, label string, n int) []uuid.UUID {
	t.Helper()
	stream := fmt.Sprintf("d:%s:%s", label, uuid.NewString()[:8])
	var ids []uuid.UUID
	for i := range n {
		d, err := events.Encode(events.Envelope{Meta: events.Metadata{Actor: "a", OccurredAt: 1},
			Payload: events.MessageSent{SessionID: stream, MessageID: uuid.NewString(), Seq: int64(i + 1), SenderID: "a",
				MessageType: 1, Content: "hello", ClientMessageID: fmt.Sprint(i)}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := store.Append(t.Context(), stream, events.ExpectedVersion(i), []events.EventData{d}); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, d.EventID)
	}
	return ids
}

type follower struct {
	got chan *tail.Event
}

func follow(t *testing.T, tl *tail.Tail, after events.Position) *follower {
	t.Helper()
	f := &follower{got: make(chan *tail.Event, 1000)}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- tl.Follow(ctx, after, 0, func(_ context.Context, batch []*tail.Event) error {
			for _, e := range batch {
				f.got <- e
			}
			return nil
		})
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("follower ended with %v", err)
		}
	})
	return f
}

func (f *follower) next(t *testing.T, n int) []*tail.Event {
	t.Helper()
	out := make([]*tail.Event, 0, n)
	for len(out) < n {
		select {
		case e := <-f.got:
			out = append(out, e)
		case <-time.After(time.Minute):
			t.Fatalf("got %d of %d events", len(out), n)
		}
	}
	return out
}

// none checks that nothing more arrives for a moment: no repeats.
func (f *follower) none(t *testing.T) {
	t.Helper()
	select {
	case e := <-f.got:
		t.Fatalf("unexpected event %s at %d", e.EventID, e.Position)
	case <-time.After(200 * time.Millisecond):
	}
}
