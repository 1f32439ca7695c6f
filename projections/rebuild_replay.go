package projections

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/tellyou/tellyou/events"
)

// replay is the progress of a rebuild, in memory, and its statement path:
// events applied to the copies through the projection's Apply, as a live
// runner applies them to the live tables.
type replay struct {
	store   events.Store
	p       Projection
	logger  *slog.Logger
	opener  Opener
	start   time.Time
	pos     events.Position
	events  int
	lastLog time.Time
}

// replayToHead replays the log after the progress into the copies until a
// batch comes back short, each batch in a transaction of its own.
func (r *replay) replayToHead(ctx context.Context, conn *pgxpool.Conn) error {
	for n := rebuildBatchSize; n == rebuildBatchSize; {
		err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			// The copies need not be durable batch by batch: a crash
			// fails the rebuild, and the switch's own commit, which
			// waits for the write-ahead log up to itself, makes every
			// replayed row durable before the copies go live.
			if _, err := tx.Exec(ctx, "SET LOCAL synchronous_commit = off"); err != nil {
				return fmt.Errorf("replay without waiting for each commit: %w", err)
			}
			var err error
			n, err = r.batch(ctx, tx)
			return err
		})
		if err != nil {
			return fmt.Errorf("replay after %d: %w", r.pos, err)
		}
	}
	return nil
}

// batch replays the next events of the log into the copies in tx and returns
// how many it read: fewer than rebuildBatchSize when it reached the head.
func (r *replay) batch(ctx context.Context, tx pgx.Tx) (int, error) {
	recs, err := r.store.ReadAll(ctx, r.pos, rebuildBatchSize)
	if err != nil || len(recs) == 0 {
		return 0, err
	}
	evs := decodeAll(ctx, recs, r.opener)
	var s staged
	if err := stage(&s, r.p, rebuildTables(), evs, true); err != nil {
		return 0, err
	}
	if err := send(ctx, tx, &s, r.p, evs); err != nil {
		return 0, err
	}
	r.pos = evs[len(evs)-1].Position
	r.events += len(evs)
	if time.Since(r.lastLog) > 5*time.Second {
		r.lastLog = time.Now()
		r.logger.Info("rebuild progress", "projection", r.p.Name(), "events", r.events,
			"position", int64(r.pos), "elapsed", time.Since(r.start))
	}
	return len(evs), nil
}
