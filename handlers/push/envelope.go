package push

import (
	"encoding/json"
	"fmt"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/tellyou/tellyou/events"
	"github.com/tellyou/tellyou/handlers/eventview"
	"github.com/tellyou/tellyou/handlers/wire"
)

// Default topics.
const (
	DefaultEventsTopic = "tellyou.events"
	DefaultTypingTopic = "tellyou.typing"
)

// encodeEvent makes the bus message of one recorded event. Its payload is the
// event as auditors and the feed see it (eventview), its UUID the event id, so
// that a bus that deduplicates by message id drops the copies several nodes
// publish.
func encodeEvent(r events.RecordedEvent) (*message.Message, error) {
	payload, err := eventview.Marshal(r)
	if err != nil {
		return nil, fmt.Errorf("encode for the bus: %w", err)
	}
	return message.NewMessage(r.EventID.String(), payload), nil
}

// decodeEvent reads back what encodeEvent wrote.
func decodeEvent(m *message.Message) (events.RecordedEvent, events.Envelope, error) {
	var a wire.AuditEvent
	if err := json.Unmarshal(m.Payload, &a); err != nil {
		return events.RecordedEvent{}, events.Envelope{}, fmt.Errorf("decode bus message %s: %w", m.UUID, err)
	}
	r := events.RecordedEvent{
		StreamID: a.StreamID, Version: a.Version, Position: events.Position(a.GlobalPosition),
		Type: a.Type, Data: a.Data, Metadata: a.Metadata,
	}
	env, err := events.Decode(r)
	if err != nil {
		return events.RecordedEvent{}, events.Envelope{}, fmt.Errorf("decode bus message %s: %w", m.UUID, err)
	}
	r.EventID = env.Meta.EventID
	return r, env, nil
}

// typingNotice is the payload of a typing topic message.
type typingNotice struct {
	SessionID string `json:"sessionId"`
	UserID    string `json:"userId"`
}
