package domain

import (
	"fmt"

	"github.com/tellyou/tellyou/events"
)

// Bounds of a session's own retention, in whole days. One day is the least:
// expiry and the shredding of content keys work in whole UTC days. The most
// is a hundred years, which is "keep" in practice and fits every clock sum.
const (
	MinRetentionDays = 1
	MaxRetentionDays = 36500
)

// SetRetentionCommand asks to change how long a session keeps its messages.
type SetRetentionCommand struct {
	// SessionID names the session.
	SessionID string
	// UserID is the authenticated user: the owner of a group, or either
	// member of a direct session (which has no owner).
	UserID string
	// Days is the retention in whole days, MinRetentionDays..MaxRetentionDays;
	// nil returns the session to the server's default retention.
	Days *int
	// Now is the server time, ms since the Unix epoch.
	Now int64
}

// DecideSetRetention decides a change of a session's retention. Checks, in
// order: the command names the state's session (KindInvalid); the session
// exists (KindNotFound); the user is a member (KindForbidden); the user is the
// owner of a group, any member of a direct session (KindForbidden); Days is
// nil or within MinRetentionDays..MaxRetentionDays (KindInvalid). It emits
// SessionSettingsChanged, or nothing when the retention would not change, so
// a repeated request succeeds without a new event.
func DecideSetRetention(s *Session, cmd SetRetentionCommand) ([]events.Payload, error) {
	if err := s.checkTarget(cmd.SessionID); err != nil {
		return nil, err
	}
	if err := s.CheckAccess(cmd.UserID); err != nil {
		return nil, err
	}
	if s.Kind == events.KindGroup && cmd.UserID != s.Owner {
		return nil, forbidden("only the owner sets the retention of a group")
	}
	if d := cmd.Days; d != nil && (*d < MinRetentionDays || *d > MaxRetentionDays) {
		return nil, invalid(fmt.Sprintf("retentionDays must be a whole number of days from %d to %d, or null for the server default", MinRetentionDays, MaxRetentionDays))
	}
	if sameDays(s.RetentionDays, cmd.Days) {
		return nil, nil
	}
	var days *int
	if cmd.Days != nil {
		d := *cmd.Days
		days = &d
	}
	return []events.Payload{events.SessionSettingsChanged{
		SessionID:     s.ID,
		By:            cmd.UserID,
		RetentionDays: days,
		At:            cmd.Now,
	}}, nil
}

func sameDays(a, b *int) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return *a == *b
}
