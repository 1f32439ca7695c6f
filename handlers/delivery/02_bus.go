package delivery

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/google/uuid"

	"github.com/tellyou/tellyou/events"
)

// originKey is the bus message metadata naming the node that published it:
// a hub skips its own messages.
const originKey = "tellyou_origin"

// maxPublishBatch bounds the appends published in one Publish call.
const maxPublishBatch = 256

// publishWarnEvery spaces out the warnings of a bus that keeps failing.
const publishWarnEvery = 10 * time.Second

// busEvent is the payload of an event's bus message: the event as stored,
// with what the receiving hubs' sequencers need.
type busEvent struct {
	StreamID string `json:"streamId"`
	Version  int64  `json:"version"`
	// Position is the event's append's last position; After that of the
	// stream's event before this one, or a position above it.
	Position events.Position `json:"position"`
	After    events.Position `json:"after"`
	Type     string          `json:"type"`
	Data     json.RawMessage `json:"data"`
	Metadata json.RawMessage `json:"metadata"`
}

// publish sends the fast path's appends to the other nodes until ctx ends:
// one bus message per event, its UUID the event id (a JetStream bus drops a
// repeated id). An append that cannot be published is left to the other
// nodes' followers.
func (h *Hub) publish(ctx context.Context) {
	var lastWarn time.Time
	batch := make([]appendOf, 0, maxPublishBatch)
	for {
		batch = batch[:0]
		select {
		case <-ctx.Done():
			return
		case run := <-h.published:
			batch = append(batch, run)
		}
	gather:
		for len(batch) < maxPublishBatch {
			select {
			case run := <-h.published:
				batch = append(batch, run)
			default:
				break gather
			}
		}
		msgs, err := h.busMessages(batch)
		if err == nil {
			err = h.cfg.Bus.Publish(h.cfg.EventsTopic, msgs...)
		}
		if err != nil {
			h.cfg.Metrics.DeliveryEvents.WithLabelValues(sourceFast.String(), outcomeNotPublished).Add(float64(len(msgs)))
			if ctx.Err() == nil && time.Since(lastWarn) >= publishWarnEvery {
				lastWarn = time.Now()
				h.cfg.Logger.Warn("delivery: publishing on the bus failed; other nodes' followers will deliver",
					"topic", h.cfg.EventsTopic, "events", len(msgs), "err", err)
			}
		}
	}
}

// busMessages makes the bus messages of the events of runs.
func (h *Hub) busMessages(runs []appendOf) ([]*message.Message, error) {
	var msgs []*message.Message
	for _, run := range runs {
		after := run.after
		for _, e := range run.events {
			payload, err := json.Marshal(busEvent{StreamID: e.streamID, Version: e.version, Position: e.position,
				After: after, Type: e.typ, Data: e.data, Metadata: e.rawMeta})
			if err != nil {
				return nil, fmt.Errorf("encode %s@%d for the bus: %w", e.streamID, e.version, err)
			}
			m := message.NewMessage(e.id.String(), payload)
			m.Metadata.Set(originKey, h.node)
			msgs = append(msgs, m)
			after = e.position
		}
	}
	return msgs, nil
}

// receiveEvents hands the other nodes' events to their shards until ctx ends
// or the subscription does. A message that cannot be decoded is dropped (the
// follower delivers its event).
func (h *Hub) receiveEvents(ctx context.Context, msgs <-chan *message.Message) error {
	return h.receive(ctx, h.cfg.EventsTopic, msgs, func(m *message.Message) {
		run, err := decodeBusEvent(ctx, m, h.cfg.Opener)
		if err != nil {
			h.cfg.Logger.Error("delivery: dropping an undecodable bus message; the follower delivers its event",
				"id", m.UUID, "err", err)
			return
		}
		h.offer(sourceBus, run)
	})
}

// receive hands each message of a subscription to topic that another node
// published to handle, and acks it, until ctx ends or the subscription does.
func (h *Hub) receive(ctx context.Context, topic string, msgs <-chan *message.Message, handle func(*message.Message)) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case m, ok := <-msgs:
			if !ok {
				return fmt.Errorf("subscription to %s ended", topic)
			}
			if m.Metadata.Get(originKey) != h.node {
				handle(m)
			}
			m.Ack()
		}
	}
}

// Opener opens the sealed content of a decoded payload
// (events/sealing.Sealer).
type Opener interface {
	Open(ctx context.Context, p events.Payload) (events.Payload, error)
}

// decodeBusEvent reads back what busMessages wrote, the event as stored,
// and opens its sealed content with o (nil leaves it as stored).
func decodeBusEvent(ctx context.Context, m *message.Message, o Opener) (appendOf, error) {
	var b busEvent
	if err := json.Unmarshal(m.Payload, &b); err != nil {
		return appendOf{}, fmt.Errorf("decode bus message %s: %w", m.UUID, err)
	}
	if b.StreamID == "" || b.Version < 1 {
		return appendOf{}, errors.New("decode bus message " + m.UUID + ": no stream or version")
	}
	env, err := events.Decode(events.RecordedEvent{StreamID: b.StreamID, Version: b.Version, Position: b.Position,
		Type: b.Type, Data: b.Data, Metadata: b.Metadata})
	if err != nil {
		return appendOf{}, fmt.Errorf("decode bus message %s: %w", m.UUID, err)
	}
	if o != nil {
		if env.Payload, err = o.Open(ctx, env.Payload); err != nil {
			return appendOf{}, fmt.Errorf("open bus message %s: %w", m.UUID, err)
		}
	}
	id, err := uuid.Parse(m.UUID)
	if err != nil {
		id = env.Meta.EventID
	}
	e := &event{streamID: b.StreamID, version: b.Version, position: b.Position, id: id, meta: env.Meta,
		payload: env.Payload, typ: b.Type, data: b.Data, rawMeta: b.Metadata}
	return appendOf{streamID: b.StreamID, after: b.After, events: []*event{e}}, nil
}
