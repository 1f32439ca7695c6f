package query

import (
	"context"
	"slices"
	"strings"

	"github.com/tellyou/tellyou/domain"
	"github.com/tellyou/tellyou/events"
)

// Member roles.
const (
	RoleOwner  = "owner"
	RoleMember = "member"
)

// MemberState is one member's read state in a session: how far they acked
// receiving and reading it, and whether they own the group.
type MemberState struct {
	UserID      string
	Role        string
	ReceivedSeq int64
	ReadSeq     int64
}

// MemberStates returns every member's read state to a member, sorted by user
// id. It comes from the session's state, never behind the log, so a member
// who just acked is seen at their new watermark.
func (q *Queries) MemberStates(ctx context.Context, userID, sessionID string) ([]MemberState, error) {
	if _, err := domain.SessionKind(sessionID); err != nil {
		return nil, err
	}
	var out []MemberState
	var denied error
	err := q.repo.View(ctx, sessionID, func(s *domain.Session) {
		if denied = s.CheckAccess(userID); denied != nil {
			return
		}
		out = make([]MemberState, 0, len(s.Members))
		for id, m := range s.Members {
			role := RoleMember
			if s.Kind == events.KindGroup && s.Owner == id {
				role = RoleOwner
			}
			out = append(out, MemberState{UserID: id, Role: role, ReceivedSeq: m.ReceivedSeq, ReadSeq: m.ReadSeq})
		}
	})
	if err != nil {
		return nil, err
	}
	if denied != nil {
		return nil, denied
	}
	slices.SortFunc(out, func(a, b MemberState) int { return strings.Compare(a.UserID, b.UserID) })
	return out, nil
}
