package projections

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/tellyou/tellyou/events"
)

// rebuildJob is the rebuild of one projection (see Rebuild).
type rebuildJob struct {
	p      Projection
	store  events.Store
	pool   *pgxpool.Pool
	logger *slog.Logger
	opener Opener // nil: content as stored
	tuning rebuildTuning
	// feed and consumer deliver the log to a projection that loads in bulk;
	// nil for the others.
	feed     *logFeed
	consumer *feedConsumer

	// conn is the connection everything but reading the log runs on: a
	// rebuild never waits for the pool while it holds the checkpoint, which
	// a runner's batch waits for with a pool connection in hand.
	conn *pgxpool.Conn
	// plans are the indexes of each live table, as the copies get them.
	plans map[string]indexPlan
}

func (j *rebuildJob) run(ctx context.Context) (RebuildStats, error) {
	start := time.Now()
	name := j.p.Name()
	if j.consumer != nil {
		defer j.consumer.stop()
	}
	conn, unlock, err := lockRebuild(ctx, j.pool, name)
	if err != nil {
		return RebuildStats{}, err
	}
	defer unlock()
	j.conn = conn
	if err := j.createCopies(ctx); err != nil {
		return RebuildStats{}, fmt.Errorf("rebuild %s: %w", name, err)
	}
	switched := false
	defer func() {
		if !switched {
			j.dropCopies(context.WithoutCancel(ctx))
		}
	}()
	j.logger.Info("rebuild started", "projection", name, "tables", j.p.Tables(), "bulk", j.consumer != nil)

	rp := &replay{store: j.store, p: j.p, logger: j.logger, opener: j.opener, start: start}
	if err := j.load(ctx, rp); err != nil {
		return RebuildStats{}, fmt.Errorf("rebuild %s: load after %d: %w", name, rp.pos, err)
	}
	for attempt := 1; ; attempt++ {
		err := rp.switchTables(ctx, conn, j.plans)
		if err == nil {
			break
		}
		if !lockConflict(err) || attempt == maxSwitchAttempts {
			return RebuildStats{}, fmt.Errorf("rebuild %s: switch (attempt %d): %w", name, attempt, err)
		}
		j.logger.Debug("rebuild switch waits for readers", "projection", name, "attempt", attempt, "error", err)
		select {
		case <-ctx.Done():
			return RebuildStats{}, fmt.Errorf("rebuild %s: switch: %w", name, ctx.Err())
		case <-time.After(time.Duration(attempt) * 10 * time.Millisecond):
		}
	}
	switched = true
	stats := RebuildStats{Projection: name, Events: rp.events, Position: rp.pos, Duration: time.Since(start)}
	j.logger.Info("rebuild done", "projection", name, "events", stats.Events,
		"position", int64(stats.Position), "duration", stats.Duration)
	return stats, nil
}

// load fills the copies up to about the head of the log, with their indexes:
// what remains for the switch is what was appended since.
func (j *rebuildJob) load(ctx context.Context, rp *replay) error {
	if j.consumer != nil {
		err := j.bulkLoad(ctx, rp)
		if !refusedRows(err) {
			if err != nil {
				return err
			}
			// Catch up on what was appended during the load and the index
			// builds, in transactions of their own, not in the switch's.
			return rp.replayToHead(ctx, j.conn)
		}
		j.logger.Warn("rebuild: the database refused rows of the bulk load; replaying event by event",
			"projection", j.p.Name(), "error", err)
		if err := j.createCopies(ctx); err != nil {
			return err
		}
		*rp = replay{store: j.store, p: j.p, logger: j.logger, opener: j.opener, start: rp.start}
	}
	if err := j.buildIndexes(ctx); err != nil {
		return err
	}
	if err := rp.replayToHead(ctx, j.conn); err != nil {
		return err
	}
	return j.analyze(ctx)
}

// bulkLoad folds the feed's events into the copies, then builds their
// indexes.
func (j *rebuildJob) bulkLoad(ctx context.Context, rp *replay) error {
	defer j.consumer.stop()
	load := j.p.(bulkLoadable).newBulkLoad(rebuildTables(), j.tuning.copyRows)
	w := startRowWriter(ctx, j.conn)
	err := j.fold(load, w, rp)
	if err == nil {
		err = load.finish(w)
	}
	// The connection is the writer's until it is done.
	if werr := w.wait(); err == nil {
		err = werr
	}
	if err != nil {
		return err
	}
	loaded := time.Since(rp.start)
	if err := j.buildIndexes(ctx); err != nil {
		return err
	}
	if err := load.afterIndexes(ctx, j.conn); err != nil {
		return err
	}
	j.logger.Info("rebuild loaded", "projection", j.p.Name(), "events", rp.events, "position", int64(rp.pos),
		"load", loaded, "indexes", time.Since(rp.start)-loaded)
	return j.analyze(ctx)
}

// fold adds the feed's events to load, handing it w after each batch.
func (j *rebuildJob) fold(load bulkLoad, w *rowWriter, rp *replay) error {
	for b := range j.consumer.batches {
		for i, ev := range b.evs {
			if !j.p.Handles(ev.Type) {
				continue
			}
			err := b.errs[i]
			if err == nil {
				err = load.add(ev, b.envs[i])
			}
			if err != nil {
				return newEventError(j.p, ev, i, err)
			}
		}
		rp.pos = b.evs[len(b.evs)-1].Position
		rp.events += len(b.evs)
		if err := load.spill(w); err != nil {
			return err
		}
	}
	return j.feed.err
}

// lockRebuild acquires the connection a rebuild works on and takes on it the
// database-wide lock that lets one rebuild of the projection run at a time.
// unlock releases both.
func lockRebuild(ctx context.Context, pool *pgxpool.Pool, name string) (conn *pgxpool.Conn, unlock func(), err error) {
	conn, err = pool.Acquire(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("rebuild %s: acquire connection: %w", name, err)
	}
	key := "tellyou.rebuild." + name
	var ok bool
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock(hashtextextended($1, 0))`, key).Scan(&ok); err != nil {
		conn.Release()
		return nil, nil, fmt.Errorf("rebuild %s: take rebuild lock: %w", name, err)
	}
	if !ok {
		conn.Release()
		return nil, nil, fmt.Errorf("rebuild %s: %w", name, ErrRebuildRunning)
	}
	return conn, func() {
		ctx := context.WithoutCancel(ctx)
		if _, err := conn.Exec(ctx, `SELECT pg_advisory_unlock(hashtextextended($1, 0))`, key); err != nil {
			// Closing the session is the other way to release the lock.
			_ = conn.Hijack().Close(ctx)
			return
		}
		conn.Release()
	}, nil
}
