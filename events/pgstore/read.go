package pgstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/tellyou/tellyou/events"
)

const eventColumns = `position, stream_id, version, event_id, type, data, metadata, recorded_at`

// ReadStream returns up to limit events of a stream with version >= fromVersion,
// in version order; limit <= 0 means 1000. It shows every committed event, so a
// caller reads its own appends.
func (s *Store) ReadStream(ctx context.Context, streamID string, fromVersion int64, limit int) ([]events.RecordedEvent, error) {
	if streamID == "" {
		return nil, errors.New("read stream: empty stream id")
	}
	if limit <= 0 {
		limit = defaultReadLimit
	}
	rows, err := s.pool.Query(ctx, `SELECT `+eventColumns+` FROM tellyou_events
		WHERE stream_id = $1 AND version >= $2 ORDER BY version LIMIT $3`,
		streamID, fromVersion, limit)
	evs, err := collectEvents(rows, err)
	if err != nil {
		return nil, fmt.Errorf("read stream %s from version %d: %w", streamID, fromVersion, err)
	}
	return evs, nil
}

// ReadAll returns up to limit events after position after, in position order;
// limit <= 0 means 1000. It shows every committed event at once: appends
// commit in the order of their positions (see commitAppends), so what a
// statement sees of the log is always a prefix of it, and no event can commit
// later at a position below one already shown. No other transaction, of this
// database or another, holds it back.
func (s *Store) ReadAll(ctx context.Context, after events.Position, limit int) ([]events.RecordedEvent, error) {
	if limit <= 0 {
		limit = defaultReadLimit
	}
	rows, err := s.pool.Query(ctx, `SELECT `+eventColumns+` FROM tellyou_events
		WHERE position > $1 ORDER BY position LIMIT $2`,
		int64(after), limit)
	evs, err := collectEvents(rows, err)
	if err != nil {
		return nil, fmt.Errorf("read all after position %d: %w", after, err)
	}
	return evs, nil
}

// Head returns the position of the last event appended (0 for none).
func (s *Store) Head(ctx context.Context) (events.Position, error) {
	var head int64
	err := s.pool.QueryRow(ctx, `SELECT position FROM tellyou_log_head`).Scan(&head)
	if err != nil {
		return 0, fmt.Errorf("read head position: %w", err)
	}
	return events.Position(head), nil
}

func collectEvents(rows pgx.Rows, err error) ([]events.RecordedEvent, error) {
	if err != nil {
		return nil, err
	}
	evs := []events.RecordedEvent{}
	for rows.Next() {
		var (
			e        events.RecordedEvent
			position int64
			id       pgtype.UUID
			recorded time.Time
		)
		if err := rows.Scan(&position, &e.StreamID, &e.Version, &id, &e.Type, &e.Data, &e.Metadata, &recorded); err != nil {
			rows.Close()
			return nil, err
		}
		e.Position = events.Position(position)
		e.EventID = id.Bytes
		e.RecordedAt = recorded
		evs = append(evs, e)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return evs, nil
}
