package pgstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/tellyou/tellyou/events"
)

// explainFailure turns a failed appendTx into Append's answer. Event ids are
// looked up only here, off the hot path where they are new: an append of stored
// ids fails either the version check (a retry with a now stale expected
// version) or the event id's unique constraint (any other retry). If the ids are
// the whole of one earlier append to this stream, the append is a retry and
// succeeds as a Duplicate.
func (s *Store) explainFailure(ctx context.Context, streamID string, expected events.ExpectedVersion, evs []events.EventData, appendErr error) (events.AppendResult, error) {
	versionCheck := errors.Is(appendErr, errVersionCheck)
	if !versionCheck && !isUniqueViolation(appendErr, "tellyou_events_event_id_key") {
		return events.AppendResult{}, fmt.Errorf("append to %s: %w", streamID, appendErr)
	}
	res, dup, err := s.findDuplicate(ctx, streamID, evs)
	switch {
	case err != nil:
		return events.AppendResult{}, fmt.Errorf("append to %s: %w", streamID, err)
	case dup:
		return res, nil
	case !versionCheck:
		// The unique violation was raised by an id that is gone now: impossible,
		// events are never deleted. Report the original error.
		return events.AppendResult{}, fmt.Errorf("append to %s: %w", streamID, appendErr)
	}
	var actual int64
	err = s.pool.QueryRow(ctx,
		"SELECT coalesce((SELECT version FROM tellyou_streams WHERE stream_id = $1), 0)", streamID,
	).Scan(&actual)
	if err != nil {
		return events.AppendResult{}, fmt.Errorf("append to %s: read version after conflict: %w", streamID, err)
	}
	return events.AppendResult{}, &events.VersionConflictError{StreamID: streamID, Expected: expected, Actual: actual}
}

// findDuplicate looks the events' ids up. It returns dup when they are stored
// in streamID as one run of consecutive versions in the order of evs, with the
// result of that earlier append; an error matching events.ErrDuplicateEventID
// when some of them are stored otherwise; neither when none is stored.
func (s *Store) findDuplicate(ctx context.Context, streamID string, evs []events.EventData) (events.AppendResult, bool, error) {
	ids := make([]pgtype.UUID, len(evs))
	for i, e := range evs {
		ids[i] = pgtype.UUID{Bytes: e.EventID, Valid: true}
	}
	rows, err := s.pool.Query(ctx,
		"SELECT event_id, stream_id, version, position FROM tellyou_events WHERE event_id = ANY($1)", ids)
	if err != nil {
		return events.AppendResult{}, false, fmt.Errorf("look up event ids: %w", err)
	}
	type stored struct {
		stream   string
		version  int64
		position int64
	}
	found := make(map[uuid.UUID]stored, len(evs))
	for rows.Next() {
		var id pgtype.UUID
		var st stored
		if err := rows.Scan(&id, &st.stream, &st.version, &st.position); err != nil {
			rows.Close()
			return events.AppendResult{}, false, fmt.Errorf("look up event ids: %w", err)
		}
		found[id.Bytes] = st
	}
	if err := rows.Err(); err != nil {
		return events.AppendResult{}, false, fmt.Errorf("look up event ids: %w", err)
	}
	if len(found) == 0 {
		return events.AppendResult{}, false, nil
	}

	first := found[evs[0].EventID]
	for i, e := range evs {
		st, stored := found[e.EventID]
		if !stored {
			return events.AppendResult{}, false, fmt.Errorf("event %s is stored but event %s of the same append is not: %w",
				firstStoredID(evs, found), e.EventID, events.ErrDuplicateEventID)
		}
		if st.stream != streamID {
			return events.AppendResult{}, false, fmt.Errorf("event %s is stored in stream %s: %w", e.EventID, st.stream, events.ErrDuplicateEventID)
		}
		if st.version != first.version+int64(i) {
			return events.AppendResult{}, false, fmt.Errorf("event %s is stored at version %d, not as part of the same append: %w",
				e.EventID, st.version, events.ErrDuplicateEventID)
		}
	}
	last := found[evs[len(evs)-1].EventID]
	return events.AppendResult{
		FirstVersion: first.version,
		LastVersion:  last.version,
		Position:     events.Position(last.position),
		Duplicate:    true,
	}, true, nil
}

func firstStoredID[T any](evs []events.EventData, found map[uuid.UUID]T) uuid.UUID {
	for _, e := range evs {
		if _, ok := found[e.EventID]; ok {
			return e.EventID
		}
	}
	return uuid.Nil
}
