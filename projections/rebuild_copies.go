package projections

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// createCopies creates empty copies of the projection's tables without
// indexes, dropping any left over, and reads the live tables' indexes that
// buildIndexes gives the copies.
func (j *rebuildJob) createCopies(ctx context.Context) error {
	plans := map[string]indexPlan{}
	err := pgx.BeginFunc(ctx, j.conn, func(tx pgx.Tx) error {
		for _, t := range j.p.Tables() {
			live, copied := TableNames{}.Of(t), rebuildTables().Of(t)
			if _, err := tx.Exec(ctx, "DROP TABLE IF EXISTS "+copied); err != nil {
				return fmt.Errorf("drop leftover copy of %s: %w", t, err)
			}
			if _, err := tx.Exec(ctx, "CREATE TABLE "+copied+" (LIKE "+live+" INCLUDING ALL EXCLUDING INDEXES)"); err != nil {
				return fmt.Errorf("copy %s: %w", t, err)
			}
			plan, err := readIndexPlan(ctx, tx, live)
			if err != nil {
				return err
			}
			plans[t] = plan
		}
		return nil
	})
	if err != nil {
		return err
	}
	j.plans = plans
	return nil
}

// buildIndexes gives each copy the indexes and constraints of its live
// table.
func (j *rebuildJob) buildIndexes(ctx context.Context) error {
	for _, t := range j.p.Tables() {
		if err := j.plans[t].build(ctx, j.conn, t); err != nil {
			return err
		}
	}
	return nil
}

// analyze gathers the planner's statistics of the copies, so that the
// catch-up's statements and the first queries after the switch are planned
// on them.
func (j *rebuildJob) analyze(ctx context.Context) error {
	for _, t := range j.p.Tables() {
		if _, err := j.conn.Exec(ctx, "ANALYZE "+rebuildTables().Of(t)); err != nil {
			return fmt.Errorf("analyze the copy of %s: %w", t, err)
		}
	}
	return nil
}

// dropCopies removes the copies of a failed rebuild; a failure to do so is
// only logged: the next rebuild drops them.
func (j *rebuildJob) dropCopies(ctx context.Context) {
	for _, t := range j.p.Tables() {
		if _, err := j.pool.Exec(ctx, "DROP TABLE IF EXISTS "+rebuildTables().Of(t)); err != nil {
			j.logger.Warn("rebuild could not drop its copy", "projection", j.p.Name(), "table", t, "error", err)
		}
	}
}
