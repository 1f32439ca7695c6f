package notify

import (
	"errors"
	"fmt"

	"github.com/google/uuid"
)

// TypeMessage is the Type of a notification about a new message.
const TypeMessage = "message"

// Notification is the JSON body POSTed to the push gateway: who is to be
// woken and where to look, never what was said (the gateway is a third
// party). Documented in docs/protocol.md, "Offline notifications (webhook)".
type Notification struct {
	// Type is TypeMessage (the default when empty).
	Type string `json:"type"`
	// UserID is the recipient, who was offline.
	UserID string `json:"userId"`
	// SessionID and Seq locate the message in the recipient's session.
	SessionID string `json:"sessionId"`
	Seq       int64  `json:"seq"`
	// MessageID is the sender's message id; with UserID it identifies the
	// notification.
	MessageID string `json:"messageId"`
	SenderID  string `json:"senderId"`
	// SessionKind is "direct" or "group".
	SessionKind string `json:"sessionKind"`
	// Title is the session's title (a group's name; empty for a direct
	// session), chosen by its members, not message content.
	Title string `json:"title"`
	// SentAt is when the message was accepted, in ms since the Unix epoch.
	SentAt int64 `json:"sentAt"`
}

// validate reports a notification that cannot be enqueued.
func (n Notification) validate() error {
	var errs []error
	if n.Type != TypeMessage {
		errs = append(errs, fmt.Errorf("type %q, want %q", n.Type, TypeMessage))
	}
	if n.UserID == "" {
		errs = append(errs, errors.New("empty userId"))
	}
	if n.MessageID == "" {
		errs = append(errs, errors.New("empty messageId"))
	}
	if n.SessionID == "" {
		errs = append(errs, errors.New("empty sessionId"))
	}
	return errors.Join(errs...)
}

// webhookIDSpace is the UUID namespace of webhook ids.
var webhookIDSpace = uuid.MustParse("6f1d3c2a-6a8e-4c55-9d0e-2b7f6a1c9e47")

// WebhookID returns the webhook-id of the notification of userID about
// messageID: derived from the pair, so every attempt, and every enqueueing
// of the same pair, carries the same id and a receiver can drop repeats.
func WebhookID(userID, messageID string) string {
	return "msg_" + uuid.NewSHA1(webhookIDSpace, []byte(userID+"\x00"+messageID)).String()
}
