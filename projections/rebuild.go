package projections

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

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
//     table INCLUDING ALL but its indexes), after dropping any left by an
//     interrupted rebuild, and given the live tables' indexes and
//     constraints, read from the catalog;
//  2. the log is replayed from position 0 into them, in batches of their own
//     transactions, progress kept in memory; the live tables keep serving and
//     a live runner keeps updating them;
//  3. the switch, one transaction: lock p's checkpoint row (waiting for a live
//     runner's batch in any process to commit, then holding the next one
//     back), replay into the copies what was appended meanwhile, replace each
//     live table by its copy (DROP TABLE, ALTER TABLE ... RENAME, indexes
//     renamed to the live ones' names) and set the checkpoint to the last
//     replayed event. If the live tables' indexes changed since step 1, the
//     switch fails instead.
//
// Readers see the old tables until the switch commits and the complete new
// ones after it, never a table being filled. A live runner then continues from
// the new checkpoint on the new tables. Replay writes nothing but the copies:
// it pushes nothing to anyone.
//
// Indexes are built CONCURRENTLY, which holds no transaction id during the
// build: readers of the log, which wait for the oldest write transaction on
// the server, are not held back by it. A transaction holding an older
// snapshot in the database (REPEATABLE READ, pg_dump) delays the index
// builds until it ends.
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
	stats, errs := rebuildAll(ctx, store, pool, []Projection{p}, logger)
	return stats[0], errs[0]
}

// RebuildAll rebuilds the projections (All() when ps is empty) side by side,
// each as Rebuild does: they own different tables and read the log on their
// own. It returns the stats of those that finished and the first failure.
func RebuildAll(ctx context.Context, store events.Store, pool *pgxpool.Pool, ps []Projection, logger *slog.Logger) ([]RebuildStats, error) {
	if len(ps) == 0 {
		ps = All()
	}
	stats, errs := rebuildAll(ctx, store, pool, ps, logger)
	var out []RebuildStats
	for i := range ps {
		if errs[i] == nil {
			out = append(out, stats[i])
		}
	}
	return out, errors.Join(errs...)
}

// rebuildAll runs a rebuild job per projection and returns each job's
// outcome.
func rebuildAll(ctx context.Context, store events.Store, pool *pgxpool.Pool, ps []Projection, logger *slog.Logger) ([]RebuildStats, []error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	stats, errs := make([]RebuildStats, len(ps)), make([]error, len(ps))
	var wg sync.WaitGroup
	for i, p := range ps {
		j := &rebuildJob{p: p, store: store, pool: pool, logger: logger}
		wg.Go(func() { stats[i], errs[i] = j.run(ctx) })
	}
	wg.Wait()
	return stats, errs
}
