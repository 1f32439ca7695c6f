package wire

import (
	"context"

	"github.com/tellyou/tellyou/events"
	"github.com/tellyou/tellyou/handlers/eventview"
)

// AuditEvent is one raw event as auditors see it, in the audit endpoint, the
// feed and `tellyou audit`: the view handlers/eventview defines, which the
// broker feed carries too.
type AuditEvent = eventview.Event

// NewAuditEvent renders a recorded event for auditors: data and metadata byte
// for byte as they were appended.
func NewAuditEvent(r events.RecordedEvent) AuditEvent { return eventview.New(r) }

// NewOpenedAuditEvent is NewAuditEvent with the outcome of opening sealed
// content (see eventview.NewOpened).
func NewOpenedAuditEvent(ctx context.Context, r events.RecordedEvent, o eventview.Opener) (AuditEvent, error) {
	return eventview.NewOpened(ctx, r, o)
}
