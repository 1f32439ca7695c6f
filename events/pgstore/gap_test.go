package pgstore_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/tellyou/tellyou/events"
	"github.com/tellyou/tellyou/events/pgstore"
	"github.com/tellyou/tellyou/events/pgstore/pgtest"
)

// TestForeignTransactionsHoldNothingBack holds a write transaction open, with
// an xid taken, in another database of the same server and on an unrelated
// table of the store's own database: readers of the global log (ReadAll,
// Head, a live subscriber) get every event appended meanwhile while both are
// still open.
func TestForeignTransactionsHoldNothingBack(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	pool := pgtest.NewPool(t)
	s := newStore(t, pool, pgstore.Config{PollInterval: noPolling})
	delivered := collect(t, s, 0)

	other := pgtest.OpenPool(t, pgtest.NewDatabase(t), 2)
	holdWriteTransaction(t, other, "CREATE TABLE other_app (v int); INSERT INTO other_app VALUES (1)")
	if _, err := pool.Exec(ctx, "CREATE TABLE unrelated (v int)"); err != nil {
		t.Fatal(err)
	}
	holdWriteTransaction(t, pool, "INSERT INTO unrelated VALUES (1)")

	var appended []events.EventData
	for i := range 3 {
		e := event(fmt.Sprint("during-", i))
		res, err := s.Append(ctx, fmt.Sprint("s", i), events.NoStream, []events.EventData{e})
		if err != nil {
			t.Fatal(err)
		}
		appended = append(appended, e)
		if head, err := s.Head(ctx); err != nil || head != res.Position {
			t.Fatalf("head after append %d = %d, %v; want %d", i, head, err, res.Position)
		}
	}
	all, err := s.ReadAll(ctx, 0, 0)
	if err != nil || len(all) != len(appended) {
		t.Fatalf("read all while foreign transactions run: %d events, %v; want %d", len(all), err, len(appended))
	}
	for i, want := range appended {
		select {
		case e := <-delivered:
			if e.EventID != want.EventID {
				t.Fatalf("subscriber's event %d is %s, want %s", i, e.EventID, want.EventID)
			}
		case <-time.After(time.Minute):
			t.Fatalf("subscriber got %d of %d events while foreign transactions run", i, len(appended))
		}
	}
}

// holdWriteTransaction begins a transaction on pool, runs stmt in it (a
// write, so the transaction has an xid) and keeps it open until the test
// ends.
func holdWriteTransaction(t *testing.T, pool interface {
	Begin(context.Context) (pgx.Tx, error)
}, stmt string) {
	t.Helper()
	tx, err := pool.Begin(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tx.Rollback(context.Background()) })
	if _, err := tx.Exec(t.Context(), stmt); err != nil {
		t.Fatal(err)
	}
	var xid string
	if err := tx.QueryRow(t.Context(), "SELECT pg_current_xact_id_if_assigned()::text").Scan(&xid); err != nil || xid == "" {
		t.Fatalf("the held transaction has no xid (%q, %v)", xid, err)
	}
}

// TestAppendsCommitInPositionOrder is the gap problem: a position is taken
// before its transaction commits. An appender that has taken its positions
// but not committed yet (here a transaction that does by hand what an append
// does, then waits) must hold every later append back, so that no reader is
// ever shown a position above one that may still commit: readers see
// neither, then both, in order.
func TestAppendsCommitInPositionOrder(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	pool := pgtest.NewPool(t)
	s := newStore(t, pool, pgstore.Config{})
	delivered := collect(t, s, 0)

	held, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer held.Rollback(context.Background())
	heldEvent := event("held")
	var heldPosition int64
	if _, err := held.Exec(ctx, `INSERT INTO tellyou_streams (stream_id, version) VALUES ('held', 1)`); err != nil {
		t.Fatal(err)
	}
	if err := held.QueryRow(ctx, `UPDATE tellyou_log_head SET position = position + 1 RETURNING position`).Scan(&heldPosition); err != nil {
		t.Fatal(err)
	}
	if _, err := held.Exec(ctx, `INSERT INTO tellyou_events (position, stream_id, version, event_id, type, data, metadata)
		VALUES ($1, 'held', 1, $2, $3, $4::json, $5::json)`,
		heldPosition, heldEvent.EventID, heldEvent.Type, string(heldEvent.Data), string(heldEvent.Metadata)); err != nil {
		t.Fatal(err)
	}

	laterEvent := event("later")
	later := make(chan events.AppendResult, 1)
	go func() {
		res, err := s.Append(context.Background(), "later", events.NoStream, []events.EventData{laterEvent})
		if err != nil {
			t.Errorf("later append: %v", err)
		}
		later <- res
	}()
	time.Sleep(200 * time.Millisecond)
	select {
	case res := <-later:
		t.Fatalf("an append committed at %d while an earlier position was not committed", res.Position)
	default:
	}
	if got, err := s.ReadAll(ctx, 0, 0); err != nil || len(got) != 0 {
		t.Fatalf("read all before the held transaction commits: %d events, %v; want none", len(got), err)
	}

	if err := held.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	res := <-later
	if res.Position != events.Position(heldPosition+1) {
		t.Fatalf("later append at %d, want %d, right after the held one", res.Position, heldPosition+1)
	}
	all, err := s.ReadAll(ctx, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	want := []uuid.UUID{heldEvent.EventID, laterEvent.EventID}
	if got := []uuid.UUID{all[0].EventID, all[1].EventID}; len(all) != 2 || !slices.Equal(got, want) {
		t.Fatalf("global log holds %v, want %v", got, want)
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

// TestPositionsAreGaplessUnderConcurrentAppends appends from many goroutines
// at once, through group commit and alone, including appends that fail their
// version check: the log's positions are then 1, 2, 3, ... with no gap and no
// repeat, and each stream's positions follow its versions.
func TestPositionsAreGaplessUnderConcurrentAppends(t *testing.T) {
	t.Parallel()
	for _, committers := range []int{0, -1} {
		t.Run(fmt.Sprint("committers=", committers), func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			s := newStore(t, pgtest.NewPool(t), pgstore.Config{Committers: committers})
			const writers, perWriter = 16, 50
			var staleLanded atomic.Int64
			errs := make(chan error, writers)
			for w := range writers {
				go func() {
					stream := fmt.Sprint("shared", w%4)
					for range perWriter {
						// AnyVersion always lands; a stale expected version
						// fails its check and must leave no hole.
						if _, err := s.Append(ctx, stream, events.AnyVersion, []events.EventData{event("e")}); err != nil {
							errs <- err
							return
						}
						if _, err := s.Append(ctx, stream, 1, []events.EventData{event("stale")}); err == nil {
							staleLanded.Add(1)
						} else if !errors.Is(err, events.ErrWrongExpectedVersion) {
							errs <- err
							return
						}
					}
					errs <- nil
				}()
			}
			for range writers {
				if err := <-errs; err != nil {
					t.Fatal(err)
				}
			}
			all, err := s.ReadAll(ctx, 0, 10*writers*perWriter)
			if err != nil {
				t.Fatal(err)
			}
			if want := writers*perWriter + int(staleLanded.Load()); len(all) != want {
				t.Fatalf("log holds %d events, want %d", len(all), want)
			}
			last := map[string]int64{}
			for i, e := range all {
				if e.Position != events.Position(i+1) {
					t.Fatalf("event %d at position %d, want %d", i, e.Position, i+1)
				}
				if e.Version != last[e.StreamID]+1 {
					t.Fatalf("%s: version %d after %d in global order", e.StreamID, e.Version, last[e.StreamID])
				}
				last[e.StreamID] = e.Version
			}
			if head, err := s.Head(ctx); err != nil || head != events.Position(len(all)) {
				t.Fatalf("head = %d, %v; want %d", head, err, len(all))
			}
		})
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
