package events

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/google/uuid"
)

// SchemaVersion is the newest version of the payload encodings this build
// writes. Decode reads every version up to it.
//
// Version 1 is every payload with its content in clear; version 2 is a
// MessageSent or MessageEdited whose content is sealed (see Sealed). An
// event's version is a function of its payload (SchemaVersionOf): a build
// that reads only version 1 refuses sealed content rather than showing it
// empty, and Decode refuses an event whose version does not match its
// payload.
const SchemaVersion = 2

// SchemaVersionOf is the schema version an event with payload p is written
// with: 2 for sealed content, 1 for everything else.
func SchemaVersionOf(p Payload) int {
	switch e := p.(type) {
	case MessageSent:
		if e.Sealed != nil {
			return 2
		}
	case MessageEdited:
		if e.Sealed != nil {
			return 2
		}
	}
	return 1
}

// Metadata travels with every event. It is what auditors see beside the payload.
type Metadata struct {
	EventID uuid.UUID `json:"eventId"`
	// CorrelationID ties together everything one client request caused.
	CorrelationID string `json:"correlationId"`
	// CausationID is the id of what directly caused the event: the client frame
	// or request id, or the id of an earlier event.
	CausationID string `json:"causationId"`
	// Actor is the user id on whose behalf the event was appended.
	Actor string `json:"actor"`
	// OccurredAt is the server time of the decision, ms since the Unix epoch.
	OccurredAt    int64 `json:"occurredAt"`
	SchemaVersion int   `json:"schemaVersion"`
}

// Envelope is a decoded event: its payload and metadata.
type Envelope struct {
	Meta    Metadata
	Payload Payload
}

// Encode turns an envelope into data ready to append. The metadata's schema
// version is set to SchemaVersionOf the payload; a zero EventID gets a fresh
// random one.
func Encode(e Envelope) (EventData, error) {
	if e.Payload == nil {
		return EventData{}, fmt.Errorf("encode event: no payload")
	}
	meta := e.Meta
	if meta.EventID == uuid.Nil {
		meta.EventID = uuid.New()
	}
	meta.SchemaVersion = SchemaVersionOf(e.Payload)
	data, err := json.Marshal(e.Payload)
	if err != nil {
		return EventData{}, fmt.Errorf("encode %s payload: %w", e.Payload.EventType(), err)
	}
	md, err := json.Marshal(meta)
	if err != nil {
		return EventData{}, fmt.Errorf("encode %s metadata: %w", e.Payload.EventType(), err)
	}
	return EventData{EventID: meta.EventID, Type: e.Payload.EventType(), Data: data, Metadata: md}, nil
}

// Decode turns a recorded event back into an envelope. It refuses unknown types,
// schema versions newer than this build, and payloads that are not valid JSON
// objects of the event's type.
func Decode(r RecordedEvent) (Envelope, error) {
	if env, ok := decodeCanonical(r); ok {
		return env, nil
	}
	return decodeJSON(r)
}

// decodeJSON is Decode through encoding/json, for any form of the event.
func decodeJSON(r RecordedEvent) (Envelope, error) {
	var meta Metadata
	if err := json.Unmarshal(r.Metadata, &meta); err != nil {
		return Envelope{}, fmt.Errorf("decode metadata of %s@%d: %w", r.StreamID, r.Version, err)
	}
	if meta.SchemaVersion < 1 || meta.SchemaVersion > SchemaVersion {
		return Envelope{}, fmt.Errorf("decode %s@%d: unsupported schema version %d", r.StreamID, r.Version, meta.SchemaVersion)
	}
	p, err := decodePayload(r.Type, r.Data)
	if err != nil {
		return Envelope{}, fmt.Errorf("decode %s@%d: %w", r.StreamID, r.Version, err)
	}
	if v := SchemaVersionOf(p); v != meta.SchemaVersion {
		return Envelope{}, fmt.Errorf("decode %s@%d: schema version %d does not match its payload (version %d; sealed content is version 2)",
			r.StreamID, r.Version, meta.SchemaVersion, v)
	}
	return Envelope{Meta: meta, Payload: p}, nil
}

func decodePayload(eventType string, data []byte) (Payload, error) {
	switch eventType {
	case TypeSessionCreated:
		return decodeInto[SessionCreated](eventType, data)
	case TypeMembersAdded:
		return decodeInto[MembersAdded](eventType, data)
	case TypeMembersRemoved:
		return decodeInto[MembersRemoved](eventType, data)
	case TypeMessageSent:
		return decodeInto[MessageSent](eventType, data)
	case TypeMessagesReceived:
		return decodeInto[MessagesReceived](eventType, data)
	case TypeMessagesRead:
		return decodeInto[MessagesRead](eventType, data)
	case TypeMessageRecalled:
		return decodeInto[MessageRecalled](eventType, data)
	case TypeMessageEdited:
		return decodeInto[MessageEdited](eventType, data)
	case TypeReactionAdded:
		return decodeInto[ReactionAdded](eventType, data)
	case TypeReactionRemoved:
		return decodeInto[ReactionRemoved](eventType, data)
	case TypeMemberSettingsChanged:
		return decodeInto[MemberSettingsChanged](eventType, data)
	case TypeSessionSettingsChanged:
		return decodeInto[SessionSettingsChanged](eventType, data)
	case TypeMessagesExpired:
		return decodeInto[MessagesExpired](eventType, data)
	case TypeUserErased:
		return decodeInto[UserErased](eventType, data)
	default:
		return nil, fmt.Errorf("unknown event type %q", eventType)
	}
}

func decodeInto[P Payload](eventType string, data []byte) (Payload, error) {
	var p P
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return nil, fmt.Errorf("%s payload is not a JSON object", eventType)
	}
	if err := json.Unmarshal(trimmed, &p); err != nil {
		return nil, fmt.Errorf("%s payload: %w", eventType, err)
	}
	return p, nil
}
