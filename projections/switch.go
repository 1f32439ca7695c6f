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

// switchTables is the switch transaction. On failure nothing changed, the
// progress included.
func (r *replay) switchTables(ctx context.Context, conn *pgxpool.Conn) error {
	saved := *r
	tx, err := conn.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(ctx) //nolint:errcheck // a no-op after Commit
	err = r.switchIn(ctx, tx)
	if err == nil {
		err = tx.Commit(ctx)
	}
	if err != nil {
		*r = saved
	}
	return err
}

func (r *replay) switchIn(ctx context.Context, tx pgx.Tx) error {
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
		if err := replaceTable(ctx, tx, t); err != nil {
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
// indexes (and so its constraints) the names the live ones had: PostgreSQL
// named them after the copy when it cloned the table, and truncated the
// longer ones, so they are matched by definition, not by name.
func replaceTable(ctx context.Context, tx pgx.Tx, table string) error {
	live, copied := TableNames{}.Of(table), rebuildTables().Of(table)
	liveNames, err := indexNames(ctx, tx, live)
	if err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, "DROP TABLE "+live); err != nil {
		return fmt.Errorf("drop %s: %w", table, err)
	}
	if _, err := tx.Exec(ctx, "ALTER TABLE "+copied+" RENAME TO "+live); err != nil {
		return fmt.Errorf("rename %s copy: %w", table, err)
	}
	copyNames, err := indexNames(ctx, tx, live)
	if err != nil {
		return err
	}
	for def, names := range copyNames {
		for i, name := range names {
			if i >= len(liveNames[def]) || liveNames[def][i] == name {
				continue
			}
			to := liveNames[def][i]
			if _, err := tx.Exec(ctx, "ALTER INDEX "+pgx.Identifier{name}.Sanitize()+" RENAME TO "+pgx.Identifier{to}.Sanitize()); err != nil {
				return fmt.Errorf("rename index %s of %s to %s: %w", name, table, to, err)
			}
		}
	}
	return nil
}

// indexNames returns the names of a table's indexes by their definition less
// their name and table (kind, method, columns, predicate).
func indexNames(ctx context.Context, tx pgx.Tx, table string) (map[string][]string, error) {
	rows, err := tx.Query(ctx, `SELECT c.relname,
			i.indisprimary::text || i.indisunique::text || substring(pg_get_indexdef(i.indexrelid) from ' USING .*$')
		FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
		WHERE i.indrelid = $1::text::regclass ORDER BY c.relname`, table)
	if err != nil {
		return nil, fmt.Errorf("list indexes of %s: %w", table, err)
	}
	out := map[string][]string{}
	var name, def string
	_, err = pgx.ForEachRow(rows, []any{&name, &def}, func() error {
		out[def] = append(out[def], name)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list indexes of %s: %w", table, err)
	}
	return out, nil
}

// lockConflict reports an error of the switch that a later attempt may not
// meet: a lock timeout or a deadlock with a reader.
func lockConflict(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && (pgErr.Code == "55P03" || pgErr.Code == "40P01")
}
