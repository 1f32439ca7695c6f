package pgstore_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/tellyou/tellyou/events"
	"github.com/tellyou/tellyou/events/pgstore"
	"github.com/tellyou/tellyou/events/pgstore/pgtest"
)

// TestGlobalLogWaitsForOlderTransaction is the gap problem: an older
// transaction commits after a newer one. Readers of the global log must not be
// shown the newer event until the older one's place is known, then get both,
// the older first.
func TestGlobalLogWaitsForOlderTransaction(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	pool := pgtest.NewPool(t)
	s := newStore(t, pool, pgstore.Config{})
	delivered := collect(t, s, 0)

	older, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer older.Rollback(context.Background())
	// The older transaction takes its xid first, then appends.
	if _, err := older.Exec(ctx, "SELECT pg_current_xact_id()"); err != nil {
		t.Fatal(err)
	}
	olderEvent := event("older")
	if _, err := pgstore.AppendInTx(ctx, older, "older", events.NoStream, []events.EventData{olderEvent}); err != nil {
		t.Fatalf("append in the older transaction: %v", err)
	}
	newerEvent := event("newer")
	newer, err := s.Append(ctx, "newer", events.NoStream, []events.EventData{newerEvent})
	if err != nil {
		t.Fatalf("append in the newer transaction: %v", err)
	}

	// Committed, so its stream shows it...
	if got, err := s.ReadStream(ctx, "newer", 1, 0); err != nil || len(got) != 1 {
		t.Fatalf("read the newer event's stream: %d events, %v; want it at once", len(got), err)
	}
	// ...but its global position is not final while the older transaction runs.
	if got, err := s.ReadAll(ctx, 0, 0); err != nil || len(got) != 0 {
		t.Fatalf("read all while the older transaction runs: %d events, %v; want none", len(got), err)
	}
	if head, err := s.Head(ctx); err != nil || head != 0 {
		t.Fatalf("head while the older transaction runs: %d, %v; want 0", head, err)
	}
	select {
	case e := <-delivered:
		t.Fatalf("subscriber got %s at %d while the older transaction runs", e.StreamID, e.Position)
	default:
	}

	if err := older.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	var all []events.RecordedEvent
	waitFor(t, "both events in the global log", func() bool {
		all, err = s.ReadAll(ctx, 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		return len(all) == 2
	})
	want := []uuid.UUID{olderEvent.EventID, newerEvent.EventID}
	if got := []uuid.UUID{all[0].EventID, all[1].EventID}; !slices.Equal(got, want) {
		t.Fatalf("global log holds %v, want the older event first: %v", got, want)
	}
	if all[1].Position != newer.Position || all[0].Position >= newer.Position {
		t.Fatalf("positions %d, %d; the newer append reported %d", all[0].Position, all[1].Position, newer.Position)
	}
	for i, id := range want {
		select {
		case e := <-delivered:
			if e.EventID != id {
				t.Fatalf("subscriber's event %d is %s, want %s", i, e.EventID, id)
			}
		case <-time.After(time.Minute):
			t.Fatalf("subscriber got %d of 2 events", i)
		}
	}
}

// TestAppendNeverPutsOlderTransactionAfterStreamEnd covers the stream order
// check: a transaction that took its xid before the stream's last append
// committed must not append after it, as its positions would be lower.
func TestAppendNeverPutsOlderTransactionAfterStreamEnd(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	pool := pgtest.NewPool(t)
	s := newStore(t, pool, pgstore.Config{})

	stray := event("stray")
	for _, anyVersion := range []bool{false, true} {
		older, err := pool.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := older.Exec(ctx, "SELECT pg_current_xact_id()"); err != nil {
			t.Fatal(err)
		}
		last, err := s.Append(ctx, "s", events.AnyVersion, []events.EventData{event("committed")})
		if err != nil {
			t.Fatal(err)
		}
		expected := events.ExpectedVersion(last.LastVersion)
		if anyVersion {
			expected = events.AnyVersion
		}
		_, err = pgstore.AppendInTx(ctx, older, "s", expected, []events.EventData{stray})
		older.Rollback(ctx)
		if !errors.Is(err, pgstore.ErrStreamOrder) {
			t.Fatalf("append at expected version %d in a transaction older than the stream's last: %v, want ErrStreamOrder", expected, err)
		}
	}

	got, err := s.ReadStream(ctx, "s", 1, 0)
	if err != nil || len(got) != 2 {
		t.Fatalf("stream holds %d events, %v; want the 2 committed ones", len(got), err)
	}
	res, err := s.Append(ctx, "s", 2, []events.EventData{stray})
	if err != nil {
		t.Fatalf("append in a new transaction: %v", err)
	}
	if res.FirstVersion != 3 || res.Position <= got[1].Position {
		t.Fatalf("append in a new transaction: %+v, want version 3 above position %d", res, got[1].Position)
	}
}

func event(label string) events.EventData {
	return events.EventData{
		EventID:  uuid.New(),
		Type:     "PgStoreTestEvent",
		Data:     fmt.Appendf(nil, `{"label":%q}`, label),
		Metadata: []byte(`{}`),
	}
}

// collect subscribes to s from after until the test ends and passes on what
// it is delivered.
func collect(t *testing.T, s *pgstore.Store, after events.Position) <-chan events.RecordedEvent {
	t.Helper()
	out := make(chan events.RecordedEvent, 100)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- s.Subscribe(ctx, after, 10, func(_ context.Context, batch []events.RecordedEvent) error {
			for _, e := range batch {
				out <- e
			}
			return nil
		})
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("subscription ended with %v", err)
		}
	})
	return out
}

// waitFor polls cond until it holds, failing after a generous timeout.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("no %s after a minute", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
