package feedbus

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/nats-io/nats.go"

	"github.com/tellyou/tellyou/events"
	"github.com/tellyou/tellyou/handlers/eventview"
)

// DefaultTopic is the topic of the analytics feed unless configured otherwise.
const DefaultTopic = "tellyou.feed"

// Metadata of every feed message. On NATS they travel as message headers.
// The message UUID is the event id.
const (
	// MetadataPosition is the event's global position (decimal).
	MetadataPosition = "Tellyou-Position"
	// MetadataStreamID is the event's stream, which is its session id.
	MetadataStreamID = "Tellyou-Stream-Id"
	// MetadataVersion is the event's version within its stream (decimal).
	MetadataVersion = "Tellyou-Version"
	// MetadataEventType is the event's type, e.g. MessageSent.
	MetadataEventType = "Tellyou-Event-Type"
)

// NewMessage makes the feed message of one recorded event: its payload is
// eventview.Marshal's JSON, its UUID the event id, its metadata the event's
// position, stream, version and type, and Nats-Msg-Id, the header by which
// JetStream drops a second copy of the message within its duplicate window
// (watermill-nats turns metadata into headers one for one).
func NewMessage(r events.RecordedEvent) (*message.Message, error) {
	payload, err := eventview.Marshal(r)
	if err != nil {
		return nil, fmt.Errorf("feed message: %w", err)
	}
	id := r.EventID.String()
	m := message.NewMessage(id, payload)
	m.Metadata.Set(nats.MsgIdHdr, id)
	m.Metadata.Set(MetadataPosition, strconv.FormatInt(int64(r.Position), 10))
	m.Metadata.Set(MetadataStreamID, r.StreamID)
	m.Metadata.Set(MetadataVersion, strconv.FormatInt(r.Version, 10))
	m.Metadata.Set(MetadataEventType, r.Type)
	return m, nil
}

// ReadMessage returns the event a feed message carries. It refuses a message
// whose payload is not an event view, or whose metadata disagree with it.
func ReadMessage(m *message.Message) (eventview.Event, error) {
	e, err := eventview.Unmarshal(m.Payload)
	if err != nil {
		return eventview.Event{}, fmt.Errorf("feed message %s: %w", m.UUID, err)
	}
	for _, c := range []struct{ key, want string }{
		{MetadataPosition, strconv.FormatInt(e.GlobalPosition, 10)},
		{MetadataStreamID, e.StreamID},
		{MetadataVersion, strconv.FormatInt(e.Version, 10)},
		{MetadataEventType, e.Type},
	} {
		got := m.Metadata.Get(c.key)
		if got == "" {
			return eventview.Event{}, fmt.Errorf("feed message %s: no %s", m.UUID, c.key)
		}
		if got != c.want {
			return eventview.Event{}, fmt.Errorf("feed message %s: %s %q, but the event says %q", m.UUID, c.key, got, c.want)
		}
	}
	if id := e.Recorded().EventID.String(); id != m.UUID {
		return eventview.Event{}, errors.New("feed message " + m.UUID + ": the event's id is " + id)
	}
	return e, nil
}
