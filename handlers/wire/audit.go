package wire

import (
	"encoding/json"

	"github.com/tellyou/tellyou/events"
)

// AuditEvent is one raw event as auditors see it, in the audit endpoint, the
// feed and `tellyou audit`.
type AuditEvent struct {
	StreamID       string          `json:"streamId"`
	Version        int64           `json:"version"`
	GlobalPosition int64           `json:"globalPosition"`
	Type           string          `json:"type"`
	Data           json.RawMessage `json:"data"`
	Metadata       json.RawMessage `json:"metadata"`
}

// NewAuditEvent renders a recorded event for auditors: data and metadata byte
// for byte as they were appended.
func NewAuditEvent(r events.RecordedEvent) AuditEvent {
	return AuditEvent{
		StreamID: r.StreamID, Version: r.Version, GlobalPosition: int64(r.Position),
		Type: r.Type, Data: r.Data, Metadata: r.Metadata,
	}
}
