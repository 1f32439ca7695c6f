package command

import (
	"context"
	"errors"
	"fmt"

	"github.com/tellyou/tellyou/domain"
	"github.com/tellyou/tellyou/events"
	"github.com/tellyou/tellyou/readmodels"
)

// Recall withdraws one of the sender's own messages.
type Recall struct {
	Meta      RequestMeta
	SessionID string
	MessageID string
}

// RecallHandler appends MessageRecalled events.
type RecallHandler struct {
	repo    *SessionRepository
	policy  domain.Policy
	history MessageLookup
}

// Handle recalls the message if the actor sent it within the recall window.
// Recalling an already recalled message is not an error and appends nothing.
func (h *RecallHandler) Handle(ctx context.Context, cmd Recall) error {
	if _, err := domain.SessionKind(cmd.SessionID); err != nil {
		return err
	}
	err := h.repo.update(ctx, cmd.SessionID, cmd.Meta, func(s *domain.Session) ([]events.Payload, error) {
		return domain.DecideRecall(s, h.policy, domain.RecallCommand{
			UserID: cmd.Meta.Actor, SessionID: cmd.SessionID, MessageID: cmd.MessageID, Now: h.repo.now().UnixMilli(),
		})
	}, nil)
	if !errors.Is(err, domain.ErrUnknownMessage) {
		return err
	}
	// The state keeps only recent messages; an older one is in the history.
	msg, lookupErr := h.history.MessageByID(ctx, cmd.SessionID, cmd.MessageID)
	switch {
	case errors.Is(lookupErr, readmodels.ErrNotFound):
		return err
	case lookupErr != nil:
		return fmt.Errorf("look up message %s for recall: %w", cmd.MessageID, lookupErr)
	case msg.SenderID != cmd.Meta.Actor:
		return &domain.Error{Kind: domain.KindForbidden, Reason: "only the sender can recall a message"}
	case msg.Recalled:
		return nil
	default:
		return &domain.Error{Kind: domain.KindForbidden, Reason: "the recall window has passed"}
	}
}
