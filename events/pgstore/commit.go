package pgstore

import (
	"context"
	"errors"
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

// commitAppends makes every append of specs in one transaction of two round
// trips, and returns each append's result or errVersionCheck, and an error
// that failed the transaction as a whole (nothing was stored, or, for an
// error of the commit itself, the outcome is unknown).
//
// The first round trip begins the transaction and runs the version steps of
// all appends, pipelined: each locks its stream's row, so appends to one
// stream wait for each other here, and only here. A failed version check
// changes nothing and fails that append alone.
//
// The second round trip takes the next positions from tellyou_log_head and
// inserts the events of every append that passed, in one statement, and
// commits, pipelined. The log head's row lock is held from that statement to
// the end of the commit, so transactions that append commit one at a time in
// the order of their positions: when a reader sees an event, every event at a
// lower position is already committed and visible (a transaction becomes
// visible before it releases its locks). The lock is taken after the stream
// rows, by every appender in the same order, and never held across a round
// trip to this process: a slow or lost client cannot hold the log.
func (s *Store) commitAppends(ctx context.Context, specs []appendSpec) ([]events.AppendResult, []error, error) {
	total := 0
	for _, sp := range specs {
		total += len(sp.evs)
	}
	if total > maxTxEvents {
		return nil, nil, fmt.Errorf("%d events do not fit in one transaction (max %d)", total, maxTxEvents)
	}
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

	lastVersions, errs, err := advanceVersions(ctx, conn, specs)
	if err != nil {
		return nil, nil, err
	}
	rows := newEventRows(total)
	for i, sp := range specs {
		if errs[i] == nil {
			rows.add(sp.streamID, lastVersions[i]-int64(len(sp.evs))+1, sp.evs)
		}
	}
	results := make([]events.AppendResult, len(specs))
	if rows.len() == 0 {
		return results, errs, nil // the deferred rollback ends the transaction
	}

	b := &pgx.Batch{}
	b.Queue(sqlInsertEvents, rows.args()...)
	b.Queue("COMMIT")
	br := conn.SendBatch(ctx, b)
	var base, inserted int64
	insertErr := br.QueryRow().Scan(&base, &inserted)
	_, commitErr := br.Exec()
	closeErr := br.Close()
	switch {
	case insertErr != nil:
		return nil, nil, fmt.Errorf("insert events: %w", insertErr)
	case commitErr != nil:
		return nil, nil, fmt.Errorf("commit: %w", commitErr)
	case closeErr != nil:
		return nil, nil, fmt.Errorf("commit: %w", closeErr)
	case inserted != int64(rows.len()):
		return nil, nil, fmt.Errorf("inserted %d of %d events", inserted, rows.len())
	}
	committed = true

	next := base
	for i, sp := range specs {
		if errs[i] != nil {
			continue
		}
		count := int64(len(sp.evs))
		next += count
		results[i] = events.AppendResult{
			FirstVersion: lastVersions[i] - count + 1,
			LastVersion:  lastVersions[i],
			Position:     events.Position(next),
		}
	}
	return results, errs, nil
}

// advanceVersions begins the transaction on conn and runs the version step of
// every append, in one round trip. It returns each append's new stream
// version, or errVersionCheck for those whose check failed.
func advanceVersions(ctx context.Context, conn *pgxpool.Conn, specs []appendSpec) ([]int64, []error, error) {
	b := &pgx.Batch{}
	b.Queue("BEGIN")
	for _, sp := range specs {
		sql, args := versionStep(sp.streamID, sp.expected, int64(len(sp.evs)))
		b.Queue(sql, args...)
	}
	br := conn.SendBatch(ctx, b)
	if _, err := br.Exec(); err != nil {
		br.Close()
		return nil, nil, fmt.Errorf("begin: %w", err)
	}
	versions := make([]int64, len(specs))
	errs := make([]error, len(specs))
	for i := range specs {
		err := br.QueryRow().Scan(&versions[i])
		if errors.Is(err, pgx.ErrNoRows) {
			errs[i] = errVersionCheck
			continue
		}
		if err != nil {
			br.Close()
			return nil, nil, fmt.Errorf("advance stream version of %s: %w", specs[i].streamID, err)
		}
	}
	if err := br.Close(); err != nil {
		return nil, nil, fmt.Errorf("advance stream versions: %w", err)
	}
	return versions, errs, nil
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

// sqlInsertEvents inserts the events ($2..$7, one array element per event,
// in order) at the positions after the log head, which it advances by their
// number ($1), and returns the head before them and how many it inserted.
const sqlInsertEvents = `
	WITH head AS (
		UPDATE tellyou_log_head SET position = position + $1
		RETURNING position - $1 AS base
	),
	inserted AS (
		INSERT INTO tellyou_events (position, stream_id, version, event_id, type, data, metadata)
		SELECT head.base + e.n, e.stream_id, e.version, e.id, e.type, e.data::json, e.metadata::json
		FROM head, unnest($2::text[], $3::bigint[], $4::uuid[], $5::text[], $6::text[], $7::text[])
			WITH ORDINALITY AS e(stream_id, version, id, type, data, metadata, n)
		RETURNING 1
	)
	SELECT base, (SELECT count(*) FROM inserted) FROM head`

// eventRows holds sqlInsertEvents' arrays.
type eventRows struct {
	streams  []string
	versions []int64
	ids      []pgtype.UUID
	types    []string
	data     []string
	metadata []string
}

func newEventRows(n int) *eventRows {
	return &eventRows{
		streams: make([]string, 0, n), versions: make([]int64, 0, n), ids: make([]pgtype.UUID, 0, n),
		types: make([]string, 0, n), data: make([]string, 0, n), metadata: make([]string, 0, n),
	}
}

// add appends the rows of evs, stored in streamID from firstVersion.
func (r *eventRows) add(streamID string, firstVersion int64, evs []events.EventData) {
	for i, e := range evs {
		r.streams = append(r.streams, streamID)
		r.versions = append(r.versions, firstVersion+int64(i))
		r.ids = append(r.ids, pgtype.UUID{Bytes: e.EventID, Valid: true})
		r.types = append(r.types, e.Type)
		r.data = append(r.data, string(e.Data))
		r.metadata = append(r.metadata, string(e.Metadata))
	}
}

func (r *eventRows) len() int { return len(r.ids) }

func (r *eventRows) args() []any {
	return []any{int64(len(r.ids)), r.streams, r.versions, r.ids, r.types, r.data, r.metadata}
}
