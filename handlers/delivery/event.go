package delivery

import (
	"github.com/google/uuid"

	"github.com/tellyou/tellyou/events"
	"github.com/tellyou/tellyou/events/tail"
)

// event is one committed event as delivery handles it, whichever way it
// came: the fast path of this node, the bus from another node's fast path,
// or this node's follower of the log.
type event struct {
	streamID string
	version  int64
	// position is the event's global position; for an event that came by a
	// fast path with others of one append, the append's last position: never
	// below the real one, which is all the sequencer needs of it.
	position events.Position
	id       uuid.UUID
	meta     events.Metadata
	payload  events.Payload
	// typ, data and rawMeta are the event as stored, for the bus and for dead
	// letters; empty for an event this node will not publish.
	typ     string
	data    []byte
	rawMeta []byte
	// decodeErr is why an event read from the log could not be decoded: it
	// is dead-lettered when its turn comes.
	decodeErr error
}

// appendOf is a run of consecutive events of one stream that came together
// (one append, or one bus message), and the position of the stream's event
// before the first: the sequencer delivers it once everything before is.
type appendOf struct {
	streamID string
	after    events.Position
	events   []*event
}

// fromCommitted turns a committed append into delivery's events, sharing its
// values: no copy, no decode.
func fromCommitted(c events.Committed) appendOf {
	evs := make([]*event, len(c.Events))
	for i, d := range c.Events {
		env := c.Envelopes[i]
		evs[i] = &event{streamID: c.StreamID, version: c.FirstVersion + int64(i), position: c.Position,
			id: d.EventID, meta: env.Meta, payload: env.Payload, typ: d.Type, data: d.Data, rawMeta: d.Metadata}
	}
	return appendOf{streamID: c.StreamID, after: c.Prev, events: evs}
}

// fromTail turns an event the log tail decoded into delivery's event. An
// event that could not be decoded has no payload: nothing is pushed of it (it
// is dead-lettered), but it still takes its place in its session's order.
func fromTail(e *tail.Event) *event {
	return &event{streamID: e.StreamID, version: e.Version, position: e.Position, id: e.EventID,
		meta: e.Envelope.Meta, payload: e.Envelope.Payload, typ: e.Type, data: e.Data, rawMeta: e.Metadata,
		decodeErr: e.DecodeErr}
}

func (a appendOf) firstVersion() int64 { return a.events[0].version }
func (a appendOf) lastVersion() int64  { return a.events[len(a.events)-1].version }

// lastPosition is the position of the run's last event: no event of the run
// is above it.
func (a appendOf) lastPosition() events.Position { return a.events[len(a.events)-1].position }
