package projections

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/tellyou/tellyou/events"
	"github.com/tellyou/tellyou/events/tail"
)

// errRewound means the stored checkpoint is behind the position the runner
// last saw stored: something (an operator, a rebuild that replayed less than
// the runner had applied) moved it back, and the runner must resubscribe from
// it rather than apply what it was given.
var errRewound = errors.New("checkpoint moved back")

// commitBatch applies a batch of delivered events to p's live tables in one
// transaction: it locks p's checkpoint, skips the events at or below it
// (delivered before, by this runner or another), applies the rest and moves
// the checkpoint to the last of them. known is the position the caller last
// saw stored. It returns the stored position after the call.
//
// When an event cannot be applied, the events before it are still committed
// (so the checkpoint stops just below it) and its *EventError is returned.
//
// Runs of events are written together (see Coalescer); when such a statement
// fails, the batch is tried again an event at a time, which tells the failing
// event.
func commitBatch(ctx context.Context, pool *pgxpool.Pool, p Projection, evs []*tail.Event, known events.Position) (events.Position, error) {
	return commitBatchAs(ctx, pool, p, evs, known, true)
}

func commitBatchAs(ctx context.Context, pool *pgxpool.Pool, p Projection, evs []*tail.Event, known events.Position, coalesce bool) (events.Position, error) {
	tx, err := pool.Begin(ctx)
	if err != nil {
		return known, fmt.Errorf("projection %s: begin batch: %w", p.Name(), err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck // a no-op after Commit
	stored, err := lockCheckpoint(ctx, tx, p.Name())
	if err != nil {
		return known, err
	}
	if stored < known {
		return stored, fmt.Errorf("projection %s at %d, stored %d: %w", p.Name(), known, stored, errRewound)
	}
	for len(evs) > 0 && evs[0].Position <= stored {
		evs = evs[1:]
	}
	var s staged
	stageErr := stage(&s, p, TableNames{}, evs, coalesce)
	applied := evs
	var ee *EventError
	if errors.As(stageErr, &ee) {
		applied = evs[:ee.index]
	}
	if len(applied) == 0 {
		return stored, stageErr
	}
	last := applied[len(applied)-1].Position
	queueCheckpoint(&s.batch, p.Name(), last)
	if err := send(ctx, tx, &s, p, evs); err != nil {
		if !errors.As(err, &ee) {
			return stored, fmt.Errorf("projection %s: apply batch: %w", p.Name(), err)
		}
		if errors.Is(err, errCoalescedStatement) {
			_ = tx.Rollback(ctx)
			return commitBatchAs(ctx, pool, p, evs, known, false)
		}
		if ee.index > 0 {
			// The statement failed in PostgreSQL and took the transaction with
			// it: commit the events before the failing one on their own.
			_ = tx.Rollback(ctx)
			var perr error
			if stored, perr = commitBatchAs(ctx, pool, p, evs[:ee.index], known, coalesce); perr != nil {
				return stored, perr
			}
		}
		return stored, err
	}
	if err := tx.Commit(ctx); err != nil {
		return stored, fmt.Errorf("projection %s: commit batch up to %d: %w", p.Name(), last, err)
	}
	return last, stageErr
}
