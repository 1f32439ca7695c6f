package delivery

import (
	"context"

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

// Committed is the fast path: it hands an append, as its appender holds it,
// to the shard of its session and, with a bus, to the bus publisher. It
// never blocks: an append that finds no room is left to the follower.
func (h *Hub) Committed(c events.Committed) {
	if len(c.Events) == 0 || len(c.Events) != len(c.Envelopes) {
		return
	}
	run := fromCommitted(c)
	h.offer(sourceFast, run)
	if h.published != nil {
		select {
		case h.published <- run:
		default:
			h.cfg.Metrics.DeliveryEvents.WithLabelValues(sourceFast.String(), outcomeNotPublished).Add(float64(len(run.events)))
		}
	}
}

// Flush waits until every shard has handled what was handed to it before
// the call (the fast path's runs among them), or ctx ends.
func (h *Hub) Flush(ctx context.Context) error {
	dones := make([]chan struct{}, len(h.shards))
	for i, sh := range h.shards {
		dones[i] = make(chan struct{})
		select {
		case sh.in <- item{source: sourceLog, done: dones[i]}:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	for _, d := range dones {
		select {
		case <-d:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// offer hands a run to its shard without blocking.
func (h *Hub) offer(src source, run appendOf) {
	sh := h.shardOf(run.streamID)
	select {
	case sh.in <- item{source: src, run: run}:
	default:
		h.cfg.Metrics.DeliveryEvents.WithLabelValues(src.String(), outcomeOverflow).Add(float64(len(run.events)))
	}
}
