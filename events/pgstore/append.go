package pgstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/tellyou/tellyou/events"
)

// maxTxEvents bounds the events of one transaction: an event's position is its
// transaction's xid << 20 plus its index in the transaction.
const maxTxEvents = 1 << 20

// maxOrderRetries bounds the retries of an append whose transaction turned
// out older than the stream's last event (see errStreamOrder). Each retry is a
// new transaction, with a newer xid, so one retry normally suffices.
const maxOrderRetries = 10

// Append adds events to the end of a stream in one transaction. See
// events.Store for the guarantees. Errors: *events.VersionConflictError
// (matching events.ErrWrongExpectedVersion) when the stream is not at expected;
// an error matching events.ErrDuplicateEventID when an event id is already
// stored other than by an earlier append of the same events to this stream; an
// error for invalid input (empty stream id, no events or more than
// events.MaxAppendEvents, a nil event id, an empty type, data or metadata that
// is not a JSON object). An error of the commit itself leaves the outcome
// unknown: retrying with the same event ids is safe.
//
// Append retries that way itself when the connection it used was lost (the
// server crashed or restarted, or the pool handed out a connection that had
// died): on another connection, once per pooled connection at most, so that
// the answer comes from the server as it is now: the append's result (a
// Duplicate one if the lost attempt had committed after all), or, while the
// server is down, the error of connecting to it.
//
// Concurrent appends share transactions (group commit, see groupcommit.go)
// unless Config.Committers is negative; each keeps its own outcome.
func (s *Store) Append(ctx context.Context, streamID string, expected events.ExpectedVersion, evs []events.EventData) (events.AppendResult, error) {
	if err := events.ValidateAppend(streamID, expected, evs); err != nil {
		return events.AppendResult{}, fmt.Errorf("append to %s: %w", streamID, err)
	}
	if s.appends != nil {
		return s.groupAppend(ctx, streamID, expected, evs)
	}
	return s.appendAlone(ctx, streamID, expected, evs)
}

// appendAlone appends in a transaction of its own, retrying as Append
// describes.
func (s *Store) appendAlone(ctx context.Context, streamID string, expected events.ExpectedVersion, evs []events.EventData) (events.AppendResult, error) {
	lost := 0
	for attempt := 0; ; attempt++ {
		res, err := s.appendInNewTx(ctx, streamID, expected, evs)
		if errors.Is(err, errStreamOrder) && attempt < maxOrderRetries {
			continue
		}
		if isLostConnection(err) && lost < int(s.pool.Config().MaxConns) && ctx.Err() == nil {
			lost++
			continue
		}
		if err != nil {
			return s.explainFailure(ctx, streamID, expected, evs, err)
		}
		s.announce()
		return res, nil
	}
}

func (s *Store) appendInNewTx(ctx context.Context, streamID string, expected events.ExpectedVersion, evs []events.EventData) (events.AppendResult, error) {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return events.AppendResult{}, fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback(ctx) // a no-op after Commit
	res, _, err := appendTx(ctx, tx, 0, streamID, expected, evs)
	if err != nil {
		return events.AppendResult{}, err
	}
	if err := tx.Commit(ctx); err != nil {
		return events.AppendResult{}, fmt.Errorf("commit: %w", err)
	}
	return res, nil
}

// errVersionCheck is appendTx's report that the stream is not at the expected
// version. Append turns it into an *events.VersionConflictError, or into a
// Duplicate result when the events are already stored. The transaction is
// still usable.
var errVersionCheck = errors.New("version check failed")

// errStreamOrder is appendTx's report that the transaction's xid, and so its
// positions, are not above the stream's last event: the transaction took its
// xid before that event's transaction committed. Nothing is inserted, but the
// stream's version has moved: roll the transaction back. A new transaction gets
// a newer xid.
var errStreamOrder = errors.New("transaction is older than the stream's last append")

// appendTx appends evs to a stream in tx, numbering their positions from
// offset within the transaction, and returns the offset for the
// transaction's next append: one transaction may append to several streams
// (group commit).
//
// Two statements, one round trip each. The first checks the expected version on
// the stream's row and advances it, which locks the row until tx ends. The
// second, whose snapshot is taken after the lock was granted and so shows the
// stream's last event, inserts the events if their positions are above it.
func appendTx(ctx context.Context, tx pgx.Tx, offset int, streamID string, expected events.ExpectedVersion, evs []events.EventData) (events.AppendResult, int, error) {
	if offset < 0 || offset+len(evs) > maxTxEvents {
		return events.AppendResult{}, offset, fmt.Errorf("%d events at offset %d do not fit in one transaction (max %d)", len(evs), offset, maxTxEvents)
	}
	count := int64(len(evs))
	var lastVersion int64
	sql, args := versionStep(streamID, expected, count)
	err := tx.QueryRow(ctx, sql, args...).Scan(&lastVersion)
	if errors.Is(err, pgx.ErrNoRows) {
		return events.AppendResult{}, offset, errVersionCheck
	}
	if err != nil {
		return events.AppendResult{}, offset, fmt.Errorf("advance stream version: %w", err)
	}

	firstVersion := lastVersion - count + 1
	var inserted, lastPosition int64
	err = tx.QueryRow(ctx, sqlInsertEvents, insertArgs(streamID, firstVersion, offset, evs)...).
		Scan(&inserted, &lastPosition)
	if err != nil {
		return events.AppendResult{}, offset, fmt.Errorf("insert events: %w", err)
	}
	if inserted == 0 {
		return events.AppendResult{}, offset, errStreamOrder
	}
	return events.AppendResult{
		FirstVersion: firstVersion,
		LastVersion:  lastVersion,
		Position:     events.Position(lastPosition),
	}, offset + len(evs), nil
}

// The version steps ($1 stream, $2 event count, $3 expected version) return
// the stream's new version, or no row when the stream is not at the expected
// version. Waiting for the stream's row lock is what orders concurrent
// appends to one stream.
const (
	sqlCreateStream = `
		INSERT INTO tellyou_streams (stream_id, version) VALUES ($1, $2)
		ON CONFLICT (stream_id) DO NOTHING
		RETURNING version`

	sqlAdvanceStream = `
		UPDATE tellyou_streams SET version = version + $2
		WHERE stream_id = $1 AND version = $3
		RETURNING version`

	sqlAdvanceAnyStream = `
		INSERT INTO tellyou_streams AS s (stream_id, version) VALUES ($1, $2)
		ON CONFLICT (stream_id) DO UPDATE SET version = s.version + EXCLUDED.version
		RETURNING version`
)

// sqlInsertEvents inserts the events ($4..$7, in order) of stream $1 from
// version $2 at positions (xid << 20) + $3 + index, all or none: none unless
// the stream's previous event is visible and below those positions (or there
// is none). It returns how many it inserted and the last position.
const sqlInsertEvents = `
	WITH tx AS (
		SELECT (pg_current_xact_id()::text::bigint << 20) + $3 AS base
	),
	inserted AS (
		INSERT INTO tellyou_events (position, stream_id, version, event_id, type, data, metadata)
		SELECT tx.base + e.n - 1, $1, $2 + e.n - 1, e.id, e.type, e.data::json, e.metadata::json
		FROM tx, unnest($4::uuid[], $5::text[], $6::text[], $7::text[])
			WITH ORDINALITY AS e(id, type, data, metadata, n)
		WHERE $2 = 1 OR EXISTS (
			SELECT FROM tellyou_events p
			WHERE p.stream_id = $1 AND p.version = $2 - 1 AND p.position < tx.base
		)
		RETURNING position
	)
	SELECT count(*), coalesce(max(position), 0) FROM inserted`

func isUniqueViolation(err error, constraint string) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "23505" && pgErr.ConstraintName == constraint
}

// isLostConnection reports an error of a connection that died under a
// statement, as a server crash or restart leaves every pooled connection:
// refused by no one, answered by no one. A failure to connect at all is not
// one (retrying it at once would only fail again).
func isLostConnection(err error) bool {
	if err == nil {
		return false
	}
	var connectErr *pgconn.ConnectError
	if errors.As(err, &connectErr) {
		return false
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		// The server ends the connection: admin_shutdown, crash_shutdown.
		return pgErr.Code == "57P01" || pgErr.Code == "57P02"
	}
	return errors.Is(err, pgconn.ErrConnClosed) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) || errors.Is(err, net.ErrClosed)
}
