package domain

import (
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/tellyou/tellyou/events"
)

// CreateGroupCommand asks to create a group session.
type CreateGroupCommand struct {
	// SessionID is GroupSessionID of a fresh uuid chosen by the caller.
	SessionID string
	// Creator is the authenticated user; they become the owner and a member.
	Creator string
	// Title is optional UTF-8 of at most Policy.MaxTitleBytes bytes.
	Title string
	// Members are the other members; duplicates and the creator may be listed.
	Members []string
	// Now is the server time, ms since the Unix epoch.
	Now int64
}

// DecideCreateGroup decides the creation of a group. Checks, in order: the
// command names the state's session (KindInvalid); the session does not exist
// yet (KindConflict); the id is a group session id, the creator and members
// are valid user ids, the title is valid UTF-8 within Policy.MaxTitleBytes and
// the members, creator included and duplicates counted once, are at most
// Policy.MaxGroupMembers (KindInvalid). It emits SessionCreated with the
// members sorted and the creator as owner.
func DecideCreateGroup(s *Session, p Policy, cmd CreateGroupCommand) ([]events.Payload, error) {
	if err := s.checkTarget(cmd.SessionID); err != nil {
		return nil, err
	}
	if s.Exists() {
		return nil, conflict("session already exists")
	}
	if kind, err := SessionKind(cmd.SessionID); err != nil || kind != events.KindGroup {
		return nil, invalid("not a group session id")
	}
	if !ValidUserID(cmd.Creator) {
		return nil, invalid("invalid creator id")
	}
	if len(cmd.Title) > p.MaxTitleBytes {
		return nil, invalid("title is too long")
	}
	if !utf8.ValidString(cmd.Title) {
		return nil, invalid("title is not valid UTF-8")
	}
	if strings.ContainsRune(cmd.Title, 0) {
		return nil, invalid("title must not contain NUL characters")
	}
	if err := checkUserIDs("members", cmd.Members); err != nil {
		return nil, err
	}
	members := append([]string{cmd.Creator}, cmd.Members...)
	slices.Sort(members)
	members = slices.Compact(members)
	if len(members) > p.MaxGroupMembers {
		return nil, invalid(fmt.Sprintf("a group has at most %d members", p.MaxGroupMembers))
	}
	return []events.Payload{events.SessionCreated{
		SessionID: cmd.SessionID,
		Kind:      events.KindGroup,
		Title:     cmd.Title,
		Owner:     cmd.Creator,
		Members:   members,
		CreatedAt: cmd.Now,
	}}, nil
}

// ChangeMembersCommand asks to add and remove members of a group.
type ChangeMembersCommand struct {
	// SessionID names the group.
	SessionID string
	// UserID is the authenticated user, who must be the owner.
	UserID string
	// Add and Remove list user ids; duplicates are counted once.
	Add, Remove []string
}

// DecideChangeMembers decides a change of a group's members. Checks, in
// order: the command names the state's session (KindInvalid); the session
// exists (KindNotFound); it is a group (KindInvalid); the user is a member and
// its owner (KindForbidden); Add and Remove are not both empty, hold valid user
// ids, share no user and Remove does not hold the owner (KindInvalid).
//
// Adding a member and removing a non-member change nothing. The group after
// the change must have at most Policy.MaxGroupMembers members (KindInvalid).
// It emits MembersAdded (new members sorted, AtSeq the last seq) and/or
// MembersRemoved (removed members sorted), in that order; nothing when the
// change changes nothing.
func DecideChangeMembers(s *Session, p Policy, cmd ChangeMembersCommand) ([]events.Payload, error) {
	if err := s.checkTarget(cmd.SessionID); err != nil {
		return nil, err
	}
	if !s.Exists() {
		return nil, notFound(reasonNoSession)
	}
	if s.Kind == events.KindDirect {
		return nil, invalid("members of a direct session cannot change")
	}
	if !s.IsMember(cmd.UserID) {
		return nil, forbidden(reasonNotMember)
	}
	if cmd.UserID != s.Owner {
		return nil, forbidden("only the owner changes members")
	}
	if len(cmd.Add) == 0 && len(cmd.Remove) == 0 {
		return nil, invalid("nothing to add or remove")
	}
	if err := checkUserIDs("add", cmd.Add); err != nil {
		return nil, err
	}
	if err := checkUserIDs("remove", cmd.Remove); err != nil {
		return nil, err
	}
	removing := make(map[string]bool, len(cmd.Remove))
	for _, id := range cmd.Remove {
		if id == s.Owner {
			return nil, invalid("the owner cannot be removed")
		}
		removing[id] = true
	}
	for _, id := range cmd.Add {
		if removing[id] {
			return nil, invalid("a user cannot be both added and removed")
		}
	}

	added := effectiveIDs(cmd.Add, func(id string) bool { return !s.IsMember(id) })
	removed := effectiveIDs(cmd.Remove, s.IsMember)
	if len(s.Members)+len(added)-len(removed) > p.MaxGroupMembers {
		return nil, invalid(fmt.Sprintf("a group has at most %d members", p.MaxGroupMembers))
	}

	var out []events.Payload
	if len(added) > 0 {
		out = append(out, events.MembersAdded{SessionID: s.ID, Members: added, By: cmd.UserID, AtSeq: s.LastSeq})
	}
	if len(removed) > 0 {
		out = append(out, events.MembersRemoved{SessionID: s.ID, Members: removed, By: cmd.UserID})
	}
	return out, nil
}

// checkUserIDs refuses a list holding an invalid user id, naming its place
// rather than echoing it.
func checkUserIDs(field string, ids []string) error {
	for i, id := range ids {
		if !ValidUserID(id) {
			return invalid(fmt.Sprintf("%s[%d] is not a valid user id", field, i))
		}
	}
	return nil
}

// effectiveIDs returns the ids that keep says change something, sorted and
// without duplicates.
func effectiveIDs(ids []string, keep func(string) bool) []string {
	var out []string
	for _, id := range ids {
		if keep(id) {
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}
