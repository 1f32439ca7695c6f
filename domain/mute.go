package domain

import "github.com/tellyou/tellyou/events"

// MuteCommand asks to mute or unmute a session for the asking member: a
// muted session sends its member no offline notifications.
type MuteCommand struct {
	// UserID is the authenticated user; only their own setting changes.
	UserID string
	// SessionID names the session.
	SessionID string
	// Muted is the wanted setting.
	Muted bool
	// Now is the server time, ms since the Unix epoch.
	Now int64
}

// DecideMute decides a change of a member's own settings. Checks, in order:
// the command names the state's session (KindInvalid); the session exists
// (KindNotFound); the user is a member (KindForbidden). A setting already as
// asked emits nothing and is not an error, so a retried request succeeds;
// otherwise it emits MemberSettingsChanged.
func DecideMute(s *Session, cmd MuteCommand) ([]events.Payload, error) {
	if err := s.checkTarget(cmd.SessionID); err != nil {
		return nil, err
	}
	if err := s.CheckAccess(cmd.UserID); err != nil {
		return nil, err
	}
	if s.Members[cmd.UserID].Muted == cmd.Muted {
		return nil, nil
	}
	return []events.Payload{events.MemberSettingsChanged{
		SessionID: s.ID, UserID: cmd.UserID, Muted: cmd.Muted, At: cmd.Now,
	}}, nil
}
