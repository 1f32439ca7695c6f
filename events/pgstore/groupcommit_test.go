package pgstore_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tellyou/tellyou/events"
	"github.com/tellyou/tellyou/events/pgstore"
	"github.com/tellyou/tellyou/events/pgstore/pgtest"
)

// outcome is one Append's answer.
type outcome struct {
	res events.AppendResult
	err error
}

// batchOf commits appends together: the store's only committer is held on a
// stream row that a transaction of the test has locked, the appends queue up
// behind it, and the row is released once all of them wait. It returns their
// outcomes, in the order of appends.
func batchOf(t *testing.T, s *pgstore.Store, pool *pgxpool.Pool, lock func() (release func()), appends []func() (events.AppendResult, error)) []outcome {
	t.Helper()
	release := lock()
	blocked := make(chan outcome, 1)
	go func() {
		res, err := s.Append(t.Context(), "held", events.AnyVersion, []events.EventData{event("held")})
		blocked <- outcome{res, err}
	}()
	waitFor(t, "committer waiting for the held stream", func() bool {
		var waiting int
		err := pool.QueryRow(t.Context(), `SELECT count(*) FROM pg_stat_activity
			WHERE datname = current_database() AND wait_event_type = 'Lock'`).Scan(&waiting)
		if err != nil {
			t.Fatal(err)
		}
		return waiting == 1
	})
	out := make([]outcome, len(appends))
	var wg sync.WaitGroup
	for i, a := range appends {
		wg.Go(func() {
			res, err := a()
			out[i] = outcome{res, err}
		})
	}
	waitFor(t, "every append queued", func() bool { return pgstore.QueuedAppends(s) == len(appends) })
	release()
	wg.Wait()
	if o := <-blocked; o.err != nil {
		t.Fatalf("append to the held stream: %v", o.err)
	}
	return out
}

// newHeldStore returns a store with one committer and a function that locks
// the "held" stream's row in a transaction of its own until released.
func newHeldStore(t *testing.T) (*pgstore.Store, *pgxpool.Pool, func() func()) {
	t.Helper()
	pool := pgtest.NewPool(t)
	s := newStore(t, pool, pgstore.Config{Committers: 1})
	if _, err := s.Append(t.Context(), "held", events.NoStream, []events.EventData{event("first")}); err != nil {
		t.Fatal(err)
	}
	lock := func() func() {
		tx, err := pool.Begin(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tx.Exec(t.Context(), "SELECT FROM tellyou_streams WHERE stream_id = 'held' FOR UPDATE"); err != nil {
			t.Fatal(err)
		}
		var once sync.Once
		release := func() {
			once.Do(func() {
				if err := tx.Rollback(context.Background()); err != nil {
					t.Error(err)
				}
			})
		}
		// Released on failure too, or closing the store would wait for
		// the held committer for ever.
		t.Cleanup(release)
		return release
	}
	return s, pool, lock
}

func TestGroupCommitAnswersEachAppendOfABatch(t *testing.T) {
	t.Parallel()
	s, pool, lock := newHeldStore(t)
	ctx := t.Context()
	if _, err := s.Append(ctx, "existing", events.NoStream, []events.EventData{event("e1"), event("e2")}); err != nil {
		t.Fatal(err)
	}
	before := s.GroupCommitStats()

	const fresh = 20
	appends := make([]func() (events.AppendResult, error), 0, fresh+2)
	for i := range fresh {
		appends = append(appends, func() (events.AppendResult, error) {
			return s.Append(ctx, fmt.Sprintf("fresh-%02d", i), events.NoStream, []events.EventData{event("a"), event("b")})
		})
	}
	// One at the right version, one at a stale one: only the second fails.
	appends = append(appends,
		func() (events.AppendResult, error) {
			return s.Append(ctx, "existing", 2, []events.EventData{event("e3")})
		},
		func() (events.AppendResult, error) {
			return s.Append(ctx, "existing", 1, []events.EventData{event("stale")})
		})
	out := batchOf(t, s, pool, lock, appends)

	after := s.GroupCommitStats()
	if after.Batches != before.Batches+1 || after.Appends != before.Appends+int64(len(appends)) {
		t.Fatalf("group commit stats went from %+v to %+v, want one more batch of %d appends", before, after, len(appends))
	}
	positions := map[events.Position]bool{}
	for i := range fresh {
		o := out[i]
		if o.err != nil {
			t.Fatalf("fresh-%02d: %v", i, o.err)
		}
		if o.res.FirstVersion != 1 || o.res.LastVersion != 2 || o.res.Duplicate {
			t.Errorf("fresh-%02d: result %+v, want versions 1-2", i, o.res)
		}
		if positions[o.res.Position] {
			t.Errorf("fresh-%02d: position %d given twice", i, o.res.Position)
		}
		positions[o.res.Position] = true
		stored, err := s.ReadStream(ctx, fmt.Sprintf("fresh-%02d", i), 1, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(stored) != 2 || stored[1].Position != o.res.Position || stored[0].Position >= stored[1].Position {
			t.Errorf("fresh-%02d: stored %d events %v, want 2 ending at %d", i, len(stored), stored, o.res.Position)
		}
	}
	if o := out[fresh]; o.err != nil || o.res.FirstVersion != 3 {
		t.Errorf("append at the right version: %+v, %v; want version 3", o.res, o.err)
	}
	var conflict *events.VersionConflictError
	if o := out[fresh+1]; !errors.As(o.err, &conflict) || conflict.Expected != 1 || conflict.Actual != 3 {
		t.Errorf("append at a stale version: %+v, %v; want a conflict, expected 1, actual 3", o.res, o.err)
	}
	existing, err := s.ReadStream(ctx, "existing", 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(existing) != 3 || string(existing[2].Data) != `{"label":"e3"}` {
		t.Errorf("existing stream holds %d events, last %s; want e1, e2, e3", len(existing), existing[len(existing)-1].Data)
	}
}

// A retried append (the same event ids) in a batch breaks the batch's
// transaction on the unique event id; every append of the batch is then made
// alone, and each gets the answer it would have had alone.
func TestGroupCommitRetriedAppendInABatch(t *testing.T) {
	t.Parallel()
	s, pool, lock := newHeldStore(t)
	ctx := t.Context()
	retried := []events.EventData{event("r1"), event("r2")}
	first, err := s.Append(ctx, "retried", events.NoStream, retried)
	if err != nil {
		t.Fatal(err)
	}
	out := batchOf(t, s, pool, lock, []func() (events.AppendResult, error){
		func() (events.AppendResult, error) {
			return s.Append(ctx, "other", events.NoStream, []events.EventData{event("o1")})
		},
		func() (events.AppendResult, error) {
			return s.Append(ctx, "retried", events.AnyVersion, retried)
		},
		func() (events.AppendResult, error) {
			return s.Append(ctx, "zother", events.AnyVersion, []events.EventData{event("z1")})
		},
	})
	if o := out[0]; o.err != nil || o.res.LastVersion != 1 {
		t.Errorf("other: %+v, %v", o.res, o.err)
	}
	if o := out[2]; o.err != nil || o.res.LastVersion != 1 {
		t.Errorf("zother: %+v, %v", o.res, o.err)
	}
	want := first
	want.Duplicate = true
	if o := out[1]; o.err != nil || o.res != want {
		t.Errorf("retried append: %+v, %v; want %+v", o.res, o.err, want)
	}
	stored, err := s.ReadStream(ctx, "retried", 1, 0)
	if err != nil || len(stored) != 2 {
		t.Fatalf("retried stream holds %d events (%v), want 2", len(stored), err)
	}
}

// Many writers on many streams, every append answered once and stored once,
// in version order, whatever batches they fell into.
func TestGroupCommitUnderConcurrentWriters(t *testing.T) {
	t.Parallel()
	s := newStore(t, pgtest.NewPool(t), pgstore.Config{})
	ctx := t.Context()
	const writers, each = 32, 40
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			stream := fmt.Sprintf("w-%d", w%8) // four writers per stream
			for range each {
				for {
					head, err := s.ReadStream(ctx, stream, 1, 0)
					if err != nil {
						t.Error(err)
						return
					}
					_, err = s.Append(ctx, stream, events.ExpectedVersion(len(head)), []events.EventData{event(stream)})
					if errors.Is(err, events.ErrWrongExpectedVersion) {
						continue
					}
					if err != nil {
						t.Error(err)
						return
					}
					break
				}
			}
		})
	}
	wg.Wait()
	total := 0
	for i := range 8 {
		stored, err := s.ReadStream(ctx, fmt.Sprintf("w-%d", i), 1, 0)
		if err != nil {
			t.Fatal(err)
		}
		for j, e := range stored {
			if e.Version != int64(j+1) || j > 0 && e.Position <= stored[j-1].Position {
				t.Fatalf("w-%d event %d: version %d position %d after %d", i, j, e.Version, e.Position, stored[max(j-1, 0)].Position)
			}
		}
		total += len(stored)
	}
	if total != writers*each {
		t.Fatalf("%d events stored, want %d", total, writers*each)
	}
	t.Logf("group commit: %+v", s.GroupCommitStats())
}
