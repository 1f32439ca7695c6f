package esdbstore

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"

	"github.com/tellyou/tellyou/events"
)

// ReadStream returns up to limit events of a stream with version >=
// fromVersion, in version order; limit <= 0 means 1000. A stream that does not
// exist gives an empty slice.
func (s *Store) ReadStream(ctx context.Context, streamID string, fromVersion int64, limit int) ([]events.RecordedEvent, error) {
	if streamID == "" {
		return nil, errors.New("read stream: empty stream id")
	}
	if limit <= 0 {
		limit = defaultReadLimit
	}
	fromVersion = max(fromVersion, 1)
	raw, err := s.readStream(ctx, streamID, esdb.ReadStreamOptions{
		Direction: esdb.Forwards,
		From:      esdb.StreamRevision{Value: revisionOf(fromVersion)},
	}, uint64(limit))
	if err != nil {
		return nil, fmt.Errorf("read stream %s from version %d: %w", streamID, fromVersion, err)
	}
	evs := make([]events.RecordedEvent, 0, len(raw))
	for _, e := range raw {
		rec, err := toRecorded(e)
		if err != nil {
			return nil, fmt.Errorf("read stream %s from version %d: %w", streamID, fromVersion, err)
		}
		evs = append(evs, rec)
	}
	return evs, nil
}

// readStream reads up to count events of a stream; none for a missing stream.
func (s *Store) readStream(ctx context.Context, streamID string, opts esdb.ReadStreamOptions, count uint64) ([]*esdb.RecordedEvent, error) {
	stream, err := s.client.ReadStream(ctx, streamID, opts, count)
	if isCode(err, esdb.ErrorCodeResourceNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return collect(stream)
}

// collect drains a read. A missing stream is reported by the first Recv.
func collect(stream *esdb.ReadStream) ([]*esdb.RecordedEvent, error) {
	defer stream.Close()
	var evs []*esdb.RecordedEvent
	for {
		resolved, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return evs, nil
		}
		if isCode(err, esdb.ErrorCodeResourceNotFound) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		if resolved.Event != nil {
			evs = append(evs, resolved.Event)
		}
	}
}

// ReadAll returns up to limit events of the global log (the streams matching
// Config.StreamFilter) after position after, in $all order; limit <= 0 means
// 1000. $all holds only committed events in their final order, so every
// event returned is final. It filters in the client: it reads every event of
// $all after after until it has limit of ours or reaches the end.
func (s *Store) ReadAll(ctx context.Context, after events.Position, limit int) ([]events.RecordedEvent, error) {
	if limit <= 0 {
		limit = defaultReadLimit
	}
	out := []events.RecordedEvent{}
	from := allPositionFrom(after)
	var last *esdb.Position // the last $all event looked at
	if p, ok := from.(esdb.Position); ok {
		last = &p
	}
	for len(out) < limit {
		stream, err := s.client.ReadAll(ctx, esdb.ReadAllOptions{Direction: esdb.Forwards, From: from}, allPageSize)
		if err != nil {
			return nil, fmt.Errorf("read all after position %d: %w", after, err)
		}
		page, err := collect(stream)
		if err != nil {
			return nil, fmt.Errorf("read all after position %d: %w", after, err)
		}
		fresh := 0
		for _, e := range page {
			if last != nil && !beyond(e.Position, *last) {
				continue // the page's first event is the previous page's last
			}
			fresh++
			p := e.Position
			last = &p
			if !s.ours.MatchString(e.StreamID) {
				continue
			}
			rec, err := toRecorded(e)
			if err != nil {
				return nil, fmt.Errorf("read all after position %d: %w", after, err)
			}
			if rec.Position <= after {
				continue
			}
			if out = append(out, rec); len(out) == limit {
				break
			}
		}
		if len(page) < allPageSize || fresh == 0 {
			break
		}
		from = *last
	}
	return out, nil
}

// Head returns the position of the last event of the global log, 0 if it has
// none. It reads $all backwards, filtering in the client, until it meets an
// event of a stream matching Config.StreamFilter.
func (s *Store) Head(ctx context.Context) (events.Position, error) {
	var from esdb.AllPosition = esdb.End{}
	var last *esdb.Position
	for {
		stream, err := s.client.ReadAll(ctx, esdb.ReadAllOptions{Direction: esdb.Backwards, From: from}, allPageSize)
		if err != nil {
			return 0, fmt.Errorf("read head position: %w", err)
		}
		page, err := collect(stream)
		if err != nil {
			return 0, fmt.Errorf("read head position: %w", err)
		}
		fresh := 0
		for _, e := range page {
			if last != nil && !beyond(*last, e.Position) {
				continue
			}
			fresh++
			p := e.Position
			last = &p
			if s.ours.MatchString(e.StreamID) {
				pos, err := positionOf(e.Position)
				if err != nil {
					return 0, fmt.Errorf("read head position: %w", err)
				}
				return pos, nil
			}
		}
		if len(page) < allPageSize || fresh == 0 {
			return 0, nil
		}
		from = *last
	}
}
