package pgstore

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tellyou/tellyou/events"
)

// maxTxEvents bounds the events of one transaction, whatever its appends.
const maxTxEvents = events.MaxAppendEvents * 4

// rollbackTimeout bounds the ROLLBACK of a failed transaction; a connection
// that cannot roll back in time is closed instead of going back to the pool.
const rollbackTimeout = 5 * time.Second

// commitAppends makes every append of specs in one transaction of one round
// trip, and returns each append's result or errVersionCheck, and an error
// that failed the transaction as a whole (nothing was stored, or, for an
// error of the commit itself, the outcome is unknown).
//
// BEGIN, one call of tellyou_append (migrations/003_append_function.sql) and
// COMMIT travel pipelined. The function runs the version step of each
// append, which locks its stream's row, so appends to one stream wait for
// each other there, and only there; a failed version check changes nothing
// and fails that append alone. It then takes the next positions from
// tellyou_log_head and inserts the events of every append that passed. The
// log head's row lock is held from there to the end of the commit, so
// transactions that append commit one at a time in the order of their
// positions: when a reader sees an event, every event at a lower position is
// already committed and visible (a transaction becomes visible before it
// releases its locks). Every lock is taken in the same order by every
// appender (stream rows sorted by the caller, then the head), and none is
// held while the database waits for this process: a slow or lost client, or
// one whose goroutines wait for a CPU, cannot hold the log.
func (s *Store) commitAppends(ctx context.Context, specs []appendSpec) ([]events.AppendResult, []error, error) {
	total := 0
	for _, sp := range specs {
		total += len(sp.evs)
	}
	if total > maxTxEvents {
		return nil, nil, fmt.Errorf("%d events do not fit in one transaction (max %d)", total, maxTxEvents)
	}
	args := newAppendArgs(specs, total)
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("acquire connection: %w", err)
	}
	defer conn.Release()
	committed := false
	defer func() {
		if !committed {
			rollback(conn)
		}
	}()

	b := &pgx.Batch{}
	b.Queue("BEGIN")
	b.Queue(sqlAppend, args.values()...)
	b.Queue("COMMIT")
	br := conn.SendBatch(ctx, b)
	_, beginErr := br.Exec()
	var versions []pgtype.Int8
	var base pgtype.Int8
	appendErr := br.QueryRow().Scan(&versions, &base)
	_, commitErr := br.Exec()
	closeErr := br.Close()
	switch {
	case beginErr != nil:
		return nil, nil, fmt.Errorf("begin: %w", beginErr)
	case appendErr != nil:
		return nil, nil, fmt.Errorf("append events: %w", appendErr)
	case commitErr != nil:
		return nil, nil, fmt.Errorf("commit: %w", commitErr)
	case closeErr != nil:
		return nil, nil, fmt.Errorf("commit: %w", closeErr)
	case len(versions) != len(specs):
		return nil, nil, fmt.Errorf("append answered %d versions for %d appends", len(versions), len(specs))
	}
	committed = true

	results := make([]events.AppendResult, len(specs))
	errs := make([]error, len(specs))
	next := base.Int64
	for i, sp := range specs {
		if !versions[i].Valid {
			errs[i] = errVersionCheck
			continue
		}
		count := int64(len(sp.evs))
		next += count
		results[i] = events.AppendResult{
			FirstVersion: versions[i].Int64 - count + 1,
			LastVersion:  versions[i].Int64,
			Position:     events.Position(next),
		}
	}
	return results, errs, nil
}

// rollback ends a transaction left open on conn; a connection that cannot
// roll back is closed, so that the pool does not hand it out again.
func rollback(conn *pgxpool.Conn) {
	if conn.Conn().PgConn().TxStatus() == 'I' {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), rollbackTimeout)
	defer cancel()
	if _, err := conn.Exec(ctx, "ROLLBACK"); err != nil {
		_ = conn.Conn().Close(ctx)
	}
}

// sqlAppend calls tellyou_append with appendArgs' arrays.
const sqlAppend = `SELECT versions, base FROM tellyou_append($1, $2, $3, $4, $5, $6, $7, $8)`

// appendArgs holds tellyou_append's arrays: one element per append (a*),
// one per event (e*).
type appendArgs struct {
	aStreams  []string
	aExpected []int64
	aCounts   []int64
	eAppend   []int32
	eIDs      []pgtype.UUID
	eTypes    []string
	eData     []string
	eMetadata []string
}

func newAppendArgs(specs []appendSpec, total int) *appendArgs {
	a := &appendArgs{
		aStreams: make([]string, 0, len(specs)), aExpected: make([]int64, 0, len(specs)), aCounts: make([]int64, 0, len(specs)),
		eAppend: make([]int32, 0, total), eIDs: make([]pgtype.UUID, 0, total), eTypes: make([]string, 0, total),
		eData: make([]string, 0, total), eMetadata: make([]string, 0, total),
	}
	for i, sp := range specs {
		a.aStreams = append(a.aStreams, sp.streamID)
		a.aExpected = append(a.aExpected, int64(sp.expected))
		a.aCounts = append(a.aCounts, int64(len(sp.evs)))
		for _, e := range sp.evs {
			a.eAppend = append(a.eAppend, int32(i+1))
			a.eIDs = append(a.eIDs, pgtype.UUID{Bytes: e.EventID, Valid: true})
			a.eTypes = append(a.eTypes, e.Type)
			a.eData = append(a.eData, string(e.Data))
			a.eMetadata = append(a.eMetadata, string(e.Metadata))
		}
	}
	return a
}

func (a *appendArgs) values() []any {
	return []any{a.aStreams, a.aExpected, a.aCounts, a.eAppend, a.eIDs, a.eTypes, a.eData, a.eMetadata}
}
