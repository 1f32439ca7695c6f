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
	j.logger.Info("rebuild started", "projection", name, "tables", j.p.Tables())

	rp := &replay{store: j.store, p: j.p, logger: j.logger, start: start}
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

// load fills the copies, with their indexes, up to about the head of the
// log: what remains for the switch is what was appended since.
func (j *rebuildJob) load(ctx context.Context, rp *replay) error {
	if err := j.buildIndexes(ctx); err != nil {
		return err
	}
	if err := rp.replayToHead(ctx, j.conn); err != nil {
		return err
	}
	return j.analyze(ctx)
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
