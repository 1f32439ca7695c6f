package projections

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/tellyou/tellyou/events"
)

// Bulk load: a rebuild of a projection that implements bulkLoadable does not
// apply the log event by event. It folds the events in memory (a watermark
// to its highest value, a recall to a flag on its message's row, a session's
// rows to their final state) and writes the rows with COPY into copies that
// have no indexes yet; the indexes are built afterwards (rebuild_indexes.go).
// The rows it writes must be those the projection's Apply leaves after the
// same events: the rebuild tests compare both on the same logs.

// bulkLoadable is a Projection that can load its tables' copies in bulk.
type bulkLoadable interface {
	// newBulkLoad returns an empty load writing to tables, in COPY
	// transactions of at most copyRows rows.
	newBulkLoad(tables TableNames, copyRows int) bulkLoad
}

// bulkLoad folds events of the log, in order, into rows and writes them.
type bulkLoad interface {
	// add folds an event of a type the projection handles. An error means
	// that the event cannot be applied: Apply refuses it, or a statement
	// it queues would fail in PostgreSQL. The load is then unusable.
	add(ev events.RecordedEvent, env events.Envelope) error
	// spill queues on w the writes of the rows that need not stay in memory
	// any longer.
	spill(w *rowWriter) error
	// finish queues on w the writes of every row left, after the last event.
	finish(w *rowWriter) error
	// afterIndexes writes, once the copies have their indexes, the changes
	// that are cheaper to find through them.
	afterIndexes(ctx context.Context, conn *pgxpool.Conn) error
}

// name returns the unquoted name of the physical table that stands for
// table.
func (t TableNames) name(table string) string { return table + t.suffix }

// copyRows writes n rows into table (a copy's unquoted name) with COPY, in
// transactions of at most chunk rows. A transaction's id holds back readers
// of the log while it runs, so each stays short. The copies need not be
// durable transaction by transaction: a crash fails the rebuild, and the
// switch's commit, which waits for the write-ahead log up to itself, makes
// every loaded row durable before the copies go live. row returns the values
// of row i in the order of columns; the slice may be reused.
func copyRows(ctx context.Context, conn *pgxpool.Conn, table string, columns []string, n, chunk int, row func(i int) []any) error {
	for lo := 0; lo < n; lo += chunk {
		hi := min(n, lo+chunk)
		err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, "SET LOCAL synchronous_commit = off"); err != nil {
				return fmt.Errorf("load without waiting for each commit: %w", err)
			}
			_, err := tx.CopyFrom(ctx, pgx.Identifier{table}, columns, pgx.CopyFromSlice(hi-lo, func(i int) ([]any, error) {
				return row(lo + i), nil
			}))
			return err
		})
		if err != nil {
			return fmt.Errorf("copy rows %d to %d into %s: %w", lo, hi, table, err)
		}
	}
	return nil
}

// checkText refuses a payload string that Apply passes to PostgreSQL as it
// is when it holds U+0000, which PostgreSQL refuses in text: the live
// projection stops at such an event, and so must a bulk load, even when the
// row would be folded away before it is written.
func checkText(field, s string) error {
	if strings.IndexByte(s, 0) >= 0 {
		return fmt.Errorf("%s %q holds U+0000, which PostgreSQL refuses in text", field, s)
	}
	return nil
}

// checkTexts is checkText for each of ss.
func checkTexts(field string, ss []string) error {
	for _, s := range ss {
		if err := checkText(field, s); err != nil {
			return err
		}
	}
	return nil
}

// refusedRows reports whether err is PostgreSQL refusing rows of a bulk load
// (a data exception, or an integrity constraint violation such as duplicate
// keys when a unique index is built). The statement path meets the same
// rows one event at a time: it skips duplicates as Apply does and tells
// which event carries a bad value, so the rebuild replays through it.
func refusedRows(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && (strings.HasPrefix(pgErr.Code, "22") || strings.HasPrefix(pgErr.Code, "23"))
}
