package command

import (
	"context"

	"github.com/tellyou/tellyou/domain"
	"github.com/tellyou/tellyou/events"
)

// Edit replaces the content of one of the sender's messages.
type Edit struct {
	Meta      RequestMeta
	SessionID string
	MessageID string
	Content   string
}

// EditHandler appends MessageEdited events.
type EditHandler struct {
	repo    *SessionRepository
	policy  domain.Policy
	history MessageLookup
}

// Handle edits the message if the actor sent it within the edit window and
// it was not recalled (see domain.DecideEdit). A message older than the
// session state keeps is looked up in the history, outside the session's
// lock, and the edit decided again with it.
func (h *EditHandler) Handle(ctx context.Context, cmd Edit) error {
	return decideOnMessage(ctx, h.history, cmd.SessionID, cmd.MessageID, func(found *domain.HistoryMessage) error {
		return h.decide(ctx, cmd, found)
	})
}

func (h *EditHandler) decide(ctx context.Context, cmd Edit, found *domain.HistoryMessage) error {
	return h.repo.update(ctx, cmd.SessionID, cmd.Meta, func(s *domain.Session) ([]events.Payload, error) {
		return domain.DecideEdit(s, h.policy, domain.EditCommand{
			UserID: cmd.Meta.Actor, SessionID: cmd.SessionID, MessageID: cmd.MessageID, Content: cmd.Content,
			Found: found, Now: h.repo.now().UnixMilli(),
		})
	}, nil)
}
