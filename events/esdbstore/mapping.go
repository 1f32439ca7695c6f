package esdbstore

import (
	"fmt"
	"math"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"

	"github.com/tellyou/tellyou/events"
)

// expectedRevision maps an expected version (validated: >= AnyVersion) to the
// client's option.
func expectedRevision(expected events.ExpectedVersion) esdb.ExpectedRevision {
	switch expected {
	case events.AnyVersion:
		return esdb.Any{}
	case events.NoStream:
		return esdb.NoStream{}
	default:
		return esdb.StreamRevision{Value: revisionOf(int64(expected))}
	}
}

// versionOf is the 1-based stream version of a 0-based revision.
func versionOf(revision uint64) int64 { return int64(revision) + 1 }

// revisionOf is the 0-based revision of a stream version >= 1.
func revisionOf(version int64) uint64 { return uint64(version - 1) }

// positionOf is the events.Position of an event's log position: its commit
// position, or its prepare position when the server sent none (stream reads
// on servers before 22.6); see the package documentation.
func positionOf(p esdb.Position) (events.Position, error) {
	pos := p.Commit
	if pos == math.MaxUint64 {
		pos = p.Prepare
	}
	if pos > math.MaxInt64 {
		return 0, fmt.Errorf("log position %d/%d does not fit an events.Position", p.Commit, p.Prepare)
	}
	return events.Position(pos), nil
}

// allPositionFrom is where a forward read of $all starts to find the events
// after position after: the start, or after's own log position, which the
// server includes (callers skip it).
func allPositionFrom(after events.Position) esdb.AllPosition {
	if after <= 0 {
		return esdb.Start{}
	}
	return esdb.Position{Commit: uint64(after), Prepare: uint64(after)}
}

// beyond reports whether a comes after b in $all order.
func beyond(a, b esdb.Position) bool {
	return a.Commit > b.Commit || (a.Commit == b.Commit && a.Prepare > b.Prepare)
}

func toEventData(evs []events.EventData) []esdb.EventData {
	data := make([]esdb.EventData, len(evs))
	for i, e := range evs {
		data[i] = esdb.EventData{
			EventID:     e.EventID,
			EventType:   e.Type,
			ContentType: esdb.ContentTypeJson,
			Data:        e.Data,
			Metadata:    e.Metadata,
		}
	}
	return data
}

func toRecorded(e *esdb.RecordedEvent) (events.RecordedEvent, error) {
	pos, err := positionOf(e.Position)
	if err != nil {
		return events.RecordedEvent{}, fmt.Errorf("%s@%d: %w", e.StreamID, versionOf(e.EventNumber), err)
	}
	return events.RecordedEvent{
		StreamID:   e.StreamID,
		Version:    versionOf(e.EventNumber),
		Position:   pos,
		EventID:    e.EventID,
		Type:       e.EventType,
		Data:       e.Data,
		Metadata:   e.UserMetadata,
		RecordedAt: e.CreatedDate,
	}, nil
}
