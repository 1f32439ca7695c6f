package projections

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// errIndexesChanged is matched by the error of a switch that found the live
// tables' indexes or constraints changed since the copies were created.
var errIndexesChanged = errors.New("the live table's indexes changed during the rebuild")

// switchTables is the switch transaction. plans are the live tables'
// indexes, as the copies were given them. On failure nothing changed, the
// progress included.
func (r *replay) switchTables(ctx context.Context, conn *pgxpool.Conn, plans map[string]indexPlan) error {
	saved := *r
	tx, err := conn.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(ctx) //nolint:errcheck // a no-op after Commit
	err = r.switchIn(ctx, tx, plans)
	if err == nil {
		err = tx.Commit(ctx)
	}
	if err != nil {
		*r = saved
	}
	return err
}

func (r *replay) switchIn(ctx context.Context, tx pgx.Tx, plans map[string]indexPlan) error {
	name := r.p.Name()
	stored, err := lockCheckpoint(ctx, tx, name)
	if err != nil {
		return err
	}
	// Catch up until a short batch. What is appended later the live runner
	// applies, from the checkpoint set here.
	for n := rebuildBatchSize; n == rebuildBatchSize; {
		if n, err = r.batch(ctx, tx); err != nil {
			return fmt.Errorf("catch up after %d: %w", r.pos, err)
		}
	}
	if r.pos < stored {
		r.logger.Warn("rebuild replayed less than the live projection had applied; runners will resubscribe",
			"projection", name, "rebuilt", int64(r.pos), "live", int64(stored))
	}
	live := make([]string, 0, len(r.p.Tables()))
	for _, t := range r.p.Tables() {
		live = append(live, TableNames{}.Of(t))
	}
	if _, err := tx.Exec(ctx, "SET LOCAL lock_timeout = '"+switchLockTimeout+"'"); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, "LOCK TABLE "+strings.Join(live, ", ")+" IN ACCESS EXCLUSIVE MODE"); err != nil {
		return fmt.Errorf("lock live tables: %w", err)
	}
	for _, t := range r.p.Tables() {
		if err := replaceTable(ctx, tx, t, plans[t]); err != nil {
			return err
		}
	}
	b := &pgx.Batch{}
	queueCheckpoint(b, name, r.pos)
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("set checkpoint of %s to %d: %w", name, r.pos, err)
	}
	return nil
}

// replaceTable replaces the live table by its copy and gives the copy's
// indexes (and so their constraints) the names the live ones have. It
// refuses when the live table's indexes are no longer plan, those the copy
// was given: a migration ran during the rebuild, whose indexes the copy would
// lose.
func replaceTable(ctx context.Context, tx pgx.Tx, table string, plan indexPlan) error {
	live, copied := TableNames{}.Of(table), rebuildTables().Of(table)
	now, err := readIndexPlan(ctx, tx, live)
	if err != nil {
		return err
	}
	if !plan.same(now) {
		return fmt.Errorf("%s: %w; now:\n%swhen the copy was made:\n%s", table, errIndexesChanged, now, plan)
	}
	if _, err := tx.Exec(ctx, "DROP TABLE "+live); err != nil {
		return fmt.Errorf("drop %s: %w", table, err)
	}
	if _, err := tx.Exec(ctx, "ALTER TABLE "+copied+" RENAME TO "+live); err != nil {
		return fmt.Errorf("rename %s copy: %w", table, err)
	}
	return plan.renameToLive(ctx, tx, table)
}

// lockConflict reports an error of the switch that a later attempt may not
// meet: a lock timeout or a deadlock with a reader.
func lockConflict(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && (pgErr.Code == "55P03" || pgErr.Code == "40P01")
}
