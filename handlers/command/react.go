package command

import (
	"context"

	"github.com/tellyou/tellyou/domain"
	"github.com/tellyou/tellyou/events"
)

// React adds or removes the actor's reaction to a message.
type React struct {
	Meta      RequestMeta
	SessionID string
	MessageID string
	Emoji     string
	Remove    bool
}

// ReactHandler appends ReactionAdded and ReactionRemoved events.
type ReactHandler struct {
	repo    *SessionRepository
	policy  domain.Policy
	history MessageLookup
}

// Handle adds or removes the reaction (see domain.DecideReact). Adding one the
// actor already has, or removing one the actor does not have, appends nothing
// and is not an error. A message older than the session state keeps is looked
// up in the history, outside the session's lock, and the reaction decided
// again with it.
func (h *ReactHandler) Handle(ctx context.Context, cmd React) error {
	return decideOnMessage(ctx, h.history, cmd.SessionID, cmd.MessageID, func(found *domain.HistoryMessage) error {
		return h.decide(ctx, cmd, found)
	})
}

func (h *ReactHandler) decide(ctx context.Context, cmd React, found *domain.HistoryMessage) error {
	return h.repo.update(ctx, cmd.SessionID, cmd.Meta, func(s *domain.Session) ([]events.Payload, error) {
		return domain.DecideReact(s, h.policy, domain.ReactCommand{
			UserID: cmd.Meta.Actor, SessionID: cmd.SessionID, MessageID: cmd.MessageID, Emoji: cmd.Emoji,
			Remove: cmd.Remove, Found: found, Now: h.repo.now().UnixMilli(),
		})
	}, nil)
}
