package command

import (
	"context"
	"errors"

	"github.com/tellyou/tellyou/domain"
	"github.com/tellyou/tellyou/events"
)

// SetRetention changes how long a session keeps its messages.
type SetRetention struct {
	Meta      RequestMeta
	SessionID string
	// Days is the retention in whole days; nil: the server's default.
	Days *int
}

// SetRetentionHandler appends SessionSettingsChanged events.
type SetRetentionHandler struct {
	repo *SessionRepository
}

// NewSetRetentionHandler returns the handler of retention changes, sharing
// the commands' session repository.
func NewSetRetentionHandler(repo *SessionRepository) (*SetRetentionHandler, error) {
	if repo == nil {
		return nil, errors.New("set retention handler: nil session repository")
	}
	return &SetRetentionHandler{repo: repo}, nil
}

// Handle applies the change (the owner of a group, either member of a direct
// session) and returns the session's state after it. An unchanged retention
// appends nothing and is not an error.
func (h *SetRetentionHandler) Handle(ctx context.Context, cmd SetRetention) (*domain.Session, error) {
	if _, err := domain.SessionKind(cmd.SessionID); err != nil {
		return nil, err
	}
	return h.repo.Update(ctx, cmd.SessionID, cmd.Meta, func(s *domain.Session) ([]events.Payload, error) {
		return domain.DecideSetRetention(s, domain.SetRetentionCommand{
			SessionID: cmd.SessionID, UserID: cmd.Meta.Actor, Days: cmd.Days, Now: h.repo.now().UnixMilli(),
		})
	})
}

// Expire expires a session's messages up to UpToSeq whose server timestamps
// lie before Before (ms). The retention sweeper sends it.
type Expire struct {
	Meta      RequestMeta
	SessionID string
	UpToSeq   int64
	Before    int64
}

// ExpireHandler appends MessagesExpired events.
type ExpireHandler struct {
	repo *SessionRepository
}

// NewExpireHandler returns the handler of expiries, sharing the commands'
// session repository.
func NewExpireHandler(repo *SessionRepository) (*ExpireHandler, error) {
	if repo == nil {
		return nil, errors.New("expire handler: nil session repository")
	}
	return &ExpireHandler{repo: repo}, nil
}

// Handle appends the expiry and returns the seq every message up to which
// has now expired (the session's ExpiredSeq; unchanged when nothing was due).
func (h *ExpireHandler) Handle(ctx context.Context, cmd Expire) (int64, error) {
	var expired int64
	err := h.repo.update(ctx, cmd.SessionID, cmd.Meta, func(s *domain.Session) ([]events.Payload, error) {
		return domain.DecideExpire(s, domain.ExpireCommand{SessionID: cmd.SessionID, UpToSeq: cmd.UpToSeq, Before: cmd.Before})
	}, func(s *domain.Session) { expired = s.ExpiredSeq })
	return expired, err
}
