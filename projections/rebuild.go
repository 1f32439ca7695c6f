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
	// rebuildBatchSize bounds the events of one transaction of the statement
	// path: the catch-up after a bulk load, the switch, and the replay of a
	// projection that has no bulk load.
	rebuildBatchSize = 5000
	// rebuildReadSize is the events of one read of the log by a bulk load.
	rebuildReadSize = 10000
	// rebuildCopyRows bounds the rows of one COPY transaction of a bulk
	// load, and so how long the load holds a transaction id at a time.
	rebuildCopyRows = 20000
	// switchLockTimeout bounds the wait of the switch for the live tables.
	// It is far below PostgreSQL's deadlock_timeout (1s by default), so a
	// reader whose locks cross the switch's is never the one aborted: the
	// switch gives up first, and tries again.
	switchLockTimeout = "100ms"
	// maxSwitchAttempts bounds the tries of the switch.
	maxSwitchAttempts = 100
)

// rebuildTuning sizes the work of a rebuild; tests make it small to reach
// every path with short logs.
type rebuildTuning struct {
	// readSize is the events of one read of the log by a bulk load.
	readSize int
	// copyRows bounds the rows of one COPY transaction.
	copyRows int
}

func defaultTuning() rebuildTuning {
	return rebuildTuning{readSize: rebuildReadSize, copyRows: rebuildCopyRows}
}

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
//     interrupted rebuild;
//  2. the log is loaded from position 0 into them. The projections of this
//     package load in bulk: events are folded in memory and the resulting
//     rows written with COPY, in transactions of their own, into copies
//     without indexes; then the live tables' indexes and constraints, read
//     from the catalog, are built on the copies, and what was appended
//     meanwhile is applied through the statement path (Apply), in batches of
//     their own transactions. Other projections get the indexes first and
//     are replayed through the statement path from the start. Progress is
//     kept in memory; the live tables keep serving and a live runner keeps
//     updating them;
//  3. the switch, one transaction: lock p's checkpoint row (waiting for a live
//     runner's batch in any process to commit, then holding the next one
//     back), apply to the copies what was appended meanwhile, replace each
//     live table by its copy (DROP TABLE, ALTER TABLE ... RENAME, indexes
//     renamed to the live ones' names) and set the checkpoint to the last
//     replayed event. If the live tables' indexes changed since step 1, the
//     switch fails instead.
//
// Readers see the old tables until the switch commits and the complete new
// ones after it, never a table being filled. A live runner then continues from
// the new checkpoint on the new tables. A bulk load leaves the rows that
// replaying the same events through Apply leaves; where the log breaks what
// the bulk load assumes (see historyLoad), the rebuild replays through Apply.
// A rebuild writes nothing but the copies: it pushes nothing to anyone.
//
// Every write transaction of a rebuild but the switch and the index builds on
// the copies is short (a COPY of at most 20,000 rows, a replay batch of at
// most 5,000 events); none of them holds readers of the log back, which never
// wait for write transactions (see events/pgstore).
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
	stats, errs := rebuildAll(ctx, store, pool, []Projection{p}, logger, nil, defaultTuning())
	return stats[0], errs[0]
}

// RebuildAll rebuilds the projections (All() when ps is empty) side by side,
// each as Rebuild does: they own different tables. The bulk loads read and
// decode the log once for all of them. It returns the stats of those that
// finished and the first failure.
func RebuildAll(ctx context.Context, store events.Store, pool *pgxpool.Pool, ps []Projection, logger *slog.Logger) ([]RebuildStats, error) {
	return RebuildAllOpened(ctx, store, pool, ps, logger, nil)
}

// RebuildAllOpened is RebuildAll opening sealed content with opener as the
// runner does (nil leaves it as stored): a rebuild gives what the live
// projections give, content whose key was shredded marked erased. A failure
// to open an event fails the rebuild.
func RebuildAllOpened(ctx context.Context, store events.Store, pool *pgxpool.Pool, ps []Projection, logger *slog.Logger, opener Opener) ([]RebuildStats, error) {
	if len(ps) == 0 {
		ps = All()
	}
	stats, errs := rebuildAll(ctx, store, pool, ps, logger, opener, defaultTuning())
	var out []RebuildStats
	for i := range ps {
		if errs[i] == nil {
			out = append(out, stats[i])
		}
	}
	return out, errors.Join(errs...)
}

// rebuildAll runs a rebuild job per projection and one feed of the log for
// those that load in bulk. It returns each job's outcome.
func rebuildAll(ctx context.Context, store events.Store, pool *pgxpool.Pool, ps []Projection, logger *slog.Logger, opener Opener, tuning rebuildTuning) ([]RebuildStats, []error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	feed := &logFeed{store: store, size: tuning.readSize, logger: logger, opener: opener}
	jobs := make([]*rebuildJob, len(ps))
	var bulk []Projection
	for i, p := range ps {
		jobs[i] = &rebuildJob{p: p, store: store, pool: pool, logger: logger, opener: opener, tuning: tuning}
		if _, ok := p.(bulkLoadable); ok {
			jobs[i].feed, jobs[i].consumer = feed, feed.consumer()
			bulk = append(bulk, p)
			if feed.label != "" {
				feed.label += ","
			}
			feed.label += p.Name()
		}
	}
	feed.handles = func(eventType string) bool {
		for _, p := range bulk {
			if p.Handles(eventType) {
				return true
			}
		}
		return false
	}
	stats, errs := make([]RebuildStats, len(ps)), make([]error, len(ps))
	var wg sync.WaitGroup
	if len(bulk) > 0 {
		wg.Go(func() { feed.run(ctx) })
	}
	for i, j := range jobs {
		wg.Go(func() { stats[i], errs[i] = j.run(ctx) })
	}
	wg.Wait()
	return stats, errs
}
