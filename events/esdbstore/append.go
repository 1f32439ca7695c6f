package esdbstore

import (
	"context"
	"fmt"
	"math"
	"slices"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/google/uuid"

	"github.com/tellyou/tellyou/events"
)

// Append adds events to the end of a stream in one write, all or none. See
// events.Store for the guarantees and the package documentation for how
// retries are recognised (one stream read before each write) and where that
// falls short of the contract. Errors: *events.VersionConflictError (matching
// events.ErrWrongExpectedVersion) when the stream is not at expected; an error
// matching events.ErrDuplicateEventID when some of the ids are stored near
// the append's place but not as one earlier append of the same events; an
// error for invalid input, as the PostgreSQL store. An error of the write
// itself (a lost connection) leaves the outcome unknown: retrying with the
// same event ids and expected version is safe.
func (s *Store) Append(ctx context.Context, streamID string, expected events.ExpectedVersion, evs []events.EventData) (events.AppendResult, error) {
	if err := events.ValidateAppend(streamID, expected, evs); err != nil {
		return events.AppendResult{}, fmt.Errorf("append to %s: %w", streamID, err)
	}
	n := int64(len(evs))
	// Where a retry of this append would have landed.
	var opts esdb.ReadStreamOptions
	count := uint64(n)
	if expected == events.AnyVersion {
		opts = esdb.ReadStreamOptions{Direction: esdb.Backwards, From: esdb.End{}}
	} else {
		from := max(int64(expected)-n+1, 1)
		opts = esdb.ReadStreamOptions{Direction: esdb.Forwards, From: esdb.StreamRevision{Value: revisionOf(from)}}
		count = uint64(int64(expected) + n - from + 1)
	}
	if res, dup, err := s.findRetry(ctx, streamID, evs, opts, count); err != nil || dup {
		return res, err
	}

	wr, err := s.client.AppendToStream(ctx, streamID,
		esdb.AppendToStreamOptions{ExpectedRevision: expectedRevision(expected)}, toEventData(evs)...)
	if err == nil {
		return s.appended(ctx, streamID, n, wr)
	}
	if !isCode(err, esdb.ErrorCodeWrongExpectedVersion) {
		return events.AppendResult{}, fmt.Errorf("append to %s: %w", streamID, err)
	}
	// A retry with a newer expected version than the original finds the
	// events at the tail.
	tailOpts := esdb.ReadStreamOptions{Direction: esdb.Backwards, From: esdb.End{}}
	if res, dup, err := s.findRetry(ctx, streamID, evs, tailOpts, uint64(n)); err != nil || dup {
		return res, err
	}
	actual, err := s.lastVersion(ctx, streamID)
	if err != nil {
		return events.AppendResult{}, fmt.Errorf("append to %s: read version after conflict: %w", streamID, err)
	}
	return events.AppendResult{}, &events.VersionConflictError{StreamID: streamID, Expected: expected, Actual: actual}
}

// appended is the result of a successful write of n events. The client's
// commit position is the last event's; a server that sent none (0, or -1 as
// an unsigned number) gets asked for the last event.
func (s *Store) appended(ctx context.Context, streamID string, n int64, wr *esdb.WriteResult) (events.AppendResult, error) {
	last := versionOf(wr.NextExpectedVersion)
	res := events.AppendResult{FirstVersion: last - n + 1, LastVersion: last}
	if wr.CommitPosition != 0 && wr.CommitPosition <= math.MaxInt64 {
		res.Position = events.Position(wr.CommitPosition)
		return res, nil
	}
	evs, err := s.ReadStream(ctx, streamID, last, 1)
	if err != nil || len(evs) == 0 {
		return events.AppendResult{}, fmt.Errorf("append to %s: appended, but reading the position of version %d: %d events, %v",
			streamID, last, len(evs), err)
	}
	res.Position = evs[0].Position
	return res, nil
}

// lastVersion is the version of a stream's last event, 0 for no stream.
func (s *Store) lastVersion(ctx context.Context, streamID string) (int64, error) {
	evs, err := s.readStream(ctx, streamID, esdb.ReadStreamOptions{Direction: esdb.Backwards, From: esdb.End{}}, 1)
	if err != nil || len(evs) == 0 {
		return 0, err
	}
	return versionOf(evs[0].EventNumber), nil
}

// findRetry reads count events of a stream with opts and looks evs up among
// them: dup when they are there as one run of consecutive versions in the
// order of evs, with that append's result; an error matching
// events.ErrDuplicateEventID when only some are, or out of order; neither when
// none is. A run cut by the edge of the read is read again whole.
func (s *Store) findRetry(ctx context.Context, streamID string, evs []events.EventData, opts esdb.ReadStreamOptions, count uint64) (events.AppendResult, bool, error) {
	for attempt := 0; ; attempt++ {
		stored, err := s.readStream(ctx, streamID, opts, count)
		if err != nil {
			return events.AppendResult{}, false, fmt.Errorf("append to %s: look for a retried append: %w", streamID, err)
		}
		if opts.Direction == esdb.Backwards {
			slices.Reverse(stored)
		}
		res, found, err := matchRun(evs, stored)
		if err != nil {
			return events.AppendResult{}, false, fmt.Errorf("append to %s: %w", streamID, err)
		}
		if found == 0 {
			return events.AppendResult{}, false, nil
		}
		if found == len(evs) || attempt > 0 {
			if found < len(evs) {
				return events.AppendResult{}, false, fmt.Errorf("append to %s: %d of %d event ids are stored: %w",
					streamID, found, len(evs), events.ErrDuplicateEventID)
			}
			return res, true, nil
		}
		// Some found: read the stretch that holds a whole run around them.
		first := int64(math.MaxInt64)
		for _, e := range stored {
			if slices.ContainsFunc(evs, func(d events.EventData) bool { return d.EventID == e.EventID }) {
				first = min(first, versionOf(e.EventNumber))
			}
		}
		from := max(first-int64(len(evs))+1, 1)
		opts = esdb.ReadStreamOptions{Direction: esdb.Forwards, From: esdb.StreamRevision{Value: revisionOf(from)}}
		count = uint64(2 * len(evs))
	}
}

// matchRun looks evs up in stored (consecutive events of one stream in
// version order). It returns how many of evs it found and, when it found all,
// the result of the append that stored them. Found ids that are not one run
// in the order of evs are an error matching events.ErrDuplicateEventID.
func matchRun(evs []events.EventData, stored []*esdb.RecordedEvent) (events.AppendResult, int, error) {
	at := make(map[uuid.UUID]int, len(stored))
	for i, e := range stored {
		at[e.EventID] = i
	}
	found, start := 0, -1
	for i, e := range evs {
		j, ok := at[e.EventID]
		if !ok {
			continue
		}
		found++
		if start < 0 {
			start = j - i
		}
		if j != start+i {
			return events.AppendResult{}, found, fmt.Errorf("event %s is stored at version %d, not as part of the same append: %w",
				e.EventID, versionOf(stored[j].EventNumber), events.ErrDuplicateEventID)
		}
	}
	if found < len(evs) {
		return events.AppendResult{}, found, nil
	}
	first, last := stored[start], stored[start+len(evs)-1]
	pos, err := positionOf(last.Position)
	if err != nil {
		return events.AppendResult{}, found, err
	}
	return events.AppendResult{
		FirstVersion: versionOf(first.EventNumber),
		LastVersion:  versionOf(last.EventNumber),
		Position:     pos,
		Duplicate:    true,
	}, found, nil
}
