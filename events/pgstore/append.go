package pgstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/tellyou/tellyou/events"
)

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
	req := []appendSpec{{streamID: streamID, expected: expected, evs: evs}}
	lost := 0
	for {
		results, errs, err := s.commitAppends(ctx, req)
		if err == nil {
			err = errs[0]
		}
		if isLostConnection(err) && lost < int(s.pool.Config().MaxConns) && ctx.Err() == nil {
			lost++
			continue
		}
		if err != nil {
			return s.explainFailure(ctx, streamID, expected, evs, err)
		}
		s.announce()
		return results[0], nil
	}
}

// errVersionCheck is commitAppends' report that a stream is not at the
// expected version. Append turns it into an *events.VersionConflictError, or
// into a Duplicate result when the events are already stored.
var errVersionCheck = errors.New("version check failed")

// appendSpec is one append of a transaction.
type appendSpec struct {
	streamID string
	expected events.ExpectedVersion
	evs      []events.EventData
}

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
