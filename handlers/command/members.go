package command

import (
	"context"

	"github.com/google/uuid"

	"github.com/tellyou/tellyou/domain"
	"github.com/tellyou/tellyou/events"
)

// CreateGroup creates a group session owned by its creator (Meta.Actor).
type CreateGroup struct {
	Meta    RequestMeta
	Title   string
	Members []string
}

// CreateGroupHandler appends SessionCreated events for groups.
type CreateGroupHandler struct {
	repo   *SessionRepository
	policy domain.Policy
}

// Handle creates the group and returns its state.
func (h *CreateGroupHandler) Handle(ctx context.Context, cmd CreateGroup) (*domain.Session, error) {
	id, err := uuid.Parse(h.repo.newID())
	if err != nil {
		id = uuid.New()
	}
	sessionID := domain.GroupSessionID(id)
	return h.repo.Update(ctx, sessionID, cmd.Meta, func(s *domain.Session) ([]events.Payload, error) {
		return domain.DecideCreateGroup(s, h.policy, domain.CreateGroupCommand{
			SessionID: sessionID, Creator: cmd.Meta.Actor, Title: cmd.Title, Members: cmd.Members, Now: h.repo.now().UnixMilli(),
		})
	})
}

// ChangeMembers adds and removes members of a group (owner only).
type ChangeMembers struct {
	Meta      RequestMeta
	SessionID string
	Add       []string
	Remove    []string
}

// ChangeMembersHandler appends MembersAdded and MembersRemoved events.
type ChangeMembersHandler struct {
	repo   *SessionRepository
	policy domain.Policy
}

// Handle applies the change and returns the group's state after it.
func (h *ChangeMembersHandler) Handle(ctx context.Context, cmd ChangeMembers) (*domain.Session, error) {
	if _, err := domain.SessionKind(cmd.SessionID); err != nil {
		return nil, err
	}
	return h.repo.Update(ctx, cmd.SessionID, cmd.Meta, func(s *domain.Session) ([]events.Payload, error) {
		return domain.DecideChangeMembers(s, h.policy, domain.ChangeMembersCommand{
			SessionID: cmd.SessionID, UserID: cmd.Meta.Actor, Add: cmd.Add, Remove: cmd.Remove,
		})
	})
}
