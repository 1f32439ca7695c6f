package projections

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/tellyou/tellyou/events"
)

// Rebuild tuning.
const (
	// rebuildBatchSize bounds the events of one replay transaction.
	rebuildBatchSize = 5000
	// switchLockTimeout bounds the wait of the switch for the live tables.
	// It is far below PostgreSQL's deadlock_timeout (1s by default), so a
	// reader whose locks cross the switch's is never the one aborted: the
	// switch gives up first, and tries again.
	switchLockTimeout = "100ms"
	// maxSwitchAttempts bounds the tries of the switch.
	maxSwitchAttempts = 100
)

// RebuildStats tells what a rebuild did.
type RebuildStats struct {
	Projection string
	// Events counts the events read from the log, of every type.
	Events int
	// Position is the checkpoint the switch set: the last event replayed.
	Position events.Position
	Duration time.Duration
}

// ErrRebuildRunning is matched by the error of a rebuild started while another
// rebuild of the same projection runs.
var ErrRebuildRunning = errors.New("another rebuild of this projection is running")

// Rebuild rebuilds p's tables from the whole log, blue/green:
//
//  1. fresh copies of p's tables are created (<table>__rebuild, LIKE the live
//     table INCLUDING ALL), after dropping any left by an interrupted rebuild;
//  2. the log is replayed from position 0 into them, in batches of their own
//     transactions, progress kept in memory; the live tables keep serving and
//     a live runner keeps updating them;
//  3. the switch, one transaction: lock p's checkpoint row (waiting for a live
//     runner's batch in any process to commit, then holding the next one
//     back), replay into the copies what was appended meanwhile, replace each
//     live table by its copy (DROP TABLE, ALTER TABLE ... RENAME, indexes
//     renamed back to their usual names) and set the checkpoint to the last
//     replayed event.
//
// Readers see the old tables until the switch commits and the complete new
// ones after it, never a table being filled. A live runner then continues from
// the new checkpoint on the new tables. Replay writes nothing but the copies:
// it pushes nothing to anyone.
//
// The switch waits at most 100ms for the live tables (statements reading them
// finish; new ones queue behind the switch for that long), then rolls back and
// tries again, up to 100 times: a transaction held open on a read-model table
// delays the switch, and a reader is never made a deadlock victim.
//
// Only one rebuild of a projection runs at a time in the whole database; a
// second one fails at once. A rebuild holds one connection of pool throughout;
// the store reads with its own. On failure the live tables are left untouched
// and the copies are dropped. logger may be nil.
func Rebuild(ctx context.Context, store events.Store, pool *pgxpool.Pool, p Projection, logger *slog.Logger) (RebuildStats, error) {
	start := time.Now()
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	// Everything but reading the log runs on this one connection: a rebuild
	// never waits for the pool while it holds the checkpoint, which a runner's
	// batch waits for with a pool connection in hand.
	conn, unlock, err := lockRebuild(ctx, pool, p.Name())
	if err != nil {
		return RebuildStats{}, err
	}
	defer unlock()
	if err := createCopies(ctx, conn, p); err != nil {
		return RebuildStats{}, err
	}
	switched := false
	defer func() {
		if !switched {
			dropCopies(context.WithoutCancel(ctx), pool, p, logger)
		}
	}()
	logger.Info("rebuild started", "projection", p.Name(), "tables", p.Tables())

	// Replay until a short batch: the switch catches up on the rest.
	rp := &replay{store: store, p: p, logger: logger, start: start}
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
			n, err = rp.batch(ctx, tx)
			return err
		})
		if err != nil {
			return RebuildStats{}, fmt.Errorf("rebuild %s: replay after %d: %w", p.Name(), rp.pos, err)
		}
	}
	for _, t := range p.Tables() {
		if _, err := conn.Exec(ctx, "ANALYZE "+rebuildTables().Of(t)); err != nil {
			return RebuildStats{}, fmt.Errorf("rebuild %s: analyze %s: %w", p.Name(), t, err)
		}
	}

	for attempt := 1; ; attempt++ {
		err := rp.switchTables(ctx, conn)
		if err == nil {
			break
		}
		if !lockConflict(err) || attempt == maxSwitchAttempts {
			return RebuildStats{}, fmt.Errorf("rebuild %s: switch (attempt %d): %w", p.Name(), attempt, err)
		}
		logger.Debug("rebuild switch waits for readers", "projection", p.Name(), "attempt", attempt, "error", err)
		select {
		case <-ctx.Done():
			return RebuildStats{}, fmt.Errorf("rebuild %s: switch: %w", p.Name(), ctx.Err())
		case <-time.After(time.Duration(attempt) * 10 * time.Millisecond):
		}
	}
	switched = true
	stats := RebuildStats{Projection: p.Name(), Events: rp.events, Position: rp.pos, Duration: time.Since(start)}
	logger.Info("rebuild done", "projection", p.Name(), "events", stats.Events,
		"position", int64(stats.Position), "duration", stats.Duration)
	return stats, nil
}

// RebuildAll rebuilds the projections (All() when ps is empty) side by side,
// each as Rebuild does: they own different tables and read the log on their
// own. It returns the stats of those that finished and the first failure.
func RebuildAll(ctx context.Context, store events.Store, pool *pgxpool.Pool, ps []Projection, logger *slog.Logger) ([]RebuildStats, error) {
	if len(ps) == 0 {
		ps = All()
	}
	stats := make([]RebuildStats, len(ps))
	errs := make([]error, len(ps))
	var wg sync.WaitGroup
	for i, p := range ps {
		wg.Go(func() { stats[i], errs[i] = Rebuild(ctx, store, pool, p, logger) })
	}
	wg.Wait()
	var out []RebuildStats
	for i := range ps {
		if errs[i] == nil {
			out = append(out, stats[i])
		}
	}
	return out, errors.Join(errs...)
}

// replay is the progress of a rebuild, in memory.
type replay struct {
	store   events.Store
	p       Projection
	logger  *slog.Logger
	start   time.Time
	pos     events.Position
	events  int
	lastLog time.Time
}

// batch replays the next events of the log into the copies in tx and returns
// how many it read: fewer than rebuildBatchSize when it reached the head.
func (r *replay) batch(ctx context.Context, tx pgx.Tx) (int, error) {
	recs, err := r.store.ReadAll(ctx, r.pos, rebuildBatchSize)
	if err != nil || len(recs) == 0 {
		return 0, err
	}
	evs := decodeAll(recs)
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

// createCopies creates empty copies of p's tables, dropping any left over.
func createCopies(ctx context.Context, conn *pgxpool.Conn, p Projection) error {
	return pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		for _, t := range p.Tables() {
			copied := rebuildTables().Of(t)
			if _, err := tx.Exec(ctx, "DROP TABLE IF EXISTS "+copied); err != nil {
				return fmt.Errorf("rebuild %s: drop leftover copy of %s: %w", p.Name(), t, err)
			}
			if _, err := tx.Exec(ctx, "CREATE TABLE "+copied+" (LIKE "+TableNames{}.Of(t)+" INCLUDING ALL)"); err != nil {
				return fmt.Errorf("rebuild %s: copy %s: %w", p.Name(), t, err)
			}
		}
		return nil
	})
}

// dropCopies removes the copies of a failed rebuild; a failure to do so is
// only logged: the next rebuild drops them.
func dropCopies(ctx context.Context, pool *pgxpool.Pool, p Projection, logger *slog.Logger) {
	for _, t := range p.Tables() {
		if _, err := pool.Exec(ctx, "DROP TABLE IF EXISTS "+rebuildTables().Of(t)); err != nil {
			logger.Warn("rebuild could not drop its copy", "projection", p.Name(), "table", t, "error", err)
		}
	}
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
