package command

import (
	"context"

	"github.com/tellyou/tellyou/domain"
	"github.com/tellyou/tellyou/events"
)

// Mute sets whether the actor (Meta.Actor) gets offline notifications for a
// session: Muted true stops them.
type Mute struct {
	Meta      RequestMeta
	SessionID string
	Muted     bool
}

// MemberSettings are a member's own settings of one session.
type MemberSettings struct {
	SessionID string `json:"sessionId"`
	UserID    string `json:"userId"`
	Muted     bool   `json:"muted"`
}

// MuteHandler appends MemberSettingsChanged events.
type MuteHandler struct {
	repo *SessionRepository
}

// Handle changes the actor's setting and returns their settings after it. A
// setting already as asked appends nothing and is not an error.
func (h *MuteHandler) Handle(ctx context.Context, cmd Mute) (MemberSettings, error) {
	if _, err := domain.SessionKind(cmd.SessionID); err != nil {
		return MemberSettings{}, err
	}
	out := MemberSettings{SessionID: cmd.SessionID, UserID: cmd.Meta.Actor}
	err := h.repo.update(ctx, cmd.SessionID, cmd.Meta, func(s *domain.Session) ([]events.Payload, error) {
		return domain.DecideMute(s, domain.MuteCommand{
			UserID: cmd.Meta.Actor, SessionID: cmd.SessionID, Muted: cmd.Muted, Now: h.repo.now().UnixMilli(),
		})
	}, func(s *domain.Session) {
		if m, ok := s.Members[cmd.Meta.Actor]; ok {
			out.Muted = m.Muted
		}
	})
	if err != nil {
		return MemberSettings{}, err
	}
	return out, nil
}
