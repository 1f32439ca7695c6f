package notify

import (
	"context"
	"fmt"

	"github.com/tellyou/tellyou/domain"
	"github.com/tellyou/tellyou/events"
	"github.com/tellyou/tellyou/events/tail"
)

// decide returns the notifications one event calls for, and counts each
// recipient's outcome in counts. Only MessageSent calls for any.
//
// It reads the event as the tail decoded it. A notification carries no
// content, so an event whose content the tail could not open (its keys out
// of reach) is decoded again as stored rather than holding notifications up.
func (t *Trigger) decide(ctx context.Context, ev *tail.Event, counts map[string]int) ([]Notification, error) {
	rec := ev.RecordedEvent
	if rec.Type != events.TypeMessageSent {
		return nil, nil
	}
	payload := ev.Envelope.Payload
	if ev.DecodeErr != nil {
		env, err := events.Decode(rec)
		if err != nil {
			return nil, fmt.Errorf("decode event at %d: %w", rec.Position, err)
		}
		payload = env.Payload
	}
	var msg events.MessageSent
	switch e := payload.(type) {
	case events.MessageSent:
		msg = e
	case *events.MessageSent:
		msg = *e
	default:
		return nil, nil
	}
	var recipients []string
	var kind, title string
	muted := 0
	err := t.cfg.Sessions.View(ctx, msg.SessionID, func(s *domain.Session) {
		kind, title = s.Kind, s.Title
		for _, id := range s.MemberIDs() {
			switch {
			case id == msg.SenderID:
			case s.Members[id].Muted:
				muted++
			default:
				recipients = append(recipients, id)
			}
		}
	})
	if err != nil {
		return nil, fmt.Errorf("read session %s for the message at %d: %w", msg.SessionID, rec.Position, err)
	}
	counts[OutcomeMuted] += muted
	if age := t.cfg.Now().UnixMilli() - msg.ServerTimestamp; age > t.cfg.MaxAge.Milliseconds() {
		counts[OutcomeStale] += len(recipients)
		return nil, nil
	}
	online := t.cfg.Presence.Online(recipients)
	var out []Notification
	for _, id := range recipients {
		if online[id] {
			counts[OutcomeOnline]++
			continue
		}
		counts[OutcomeEnqueued]++
		out = append(out, Notification{
			Type: TypeMessage, UserID: id, SessionID: msg.SessionID, Seq: msg.Seq, MessageID: msg.MessageID,
			SenderID: msg.SenderID, SessionKind: kind, Title: title, SentAt: msg.ServerTimestamp,
		})
	}
	return out, nil
}
