package domain

import (
	"strings"

	"github.com/google/uuid"

	"github.com/tellyou/tellyou/events"
)

// Session id prefixes. User ids cannot hold ':', so a direct session id splits
// into its two users without ambiguity.
const (
	directPrefix = "d:"
	groupPrefix  = "g:"
)

// maxUserIDLen is the longest user id, in characters (all ASCII).
const maxUserIDLen = 64

// ValidUserID reports whether id is a user id: 1-64 characters from
// [A-Za-z0-9._-].
func ValidUserID(id string) bool {
	if len(id) == 0 || len(id) > maxUserIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case c == '.', c == '_', c == '-':
		default:
			return false
		}
	}
	return true
}

// DirectSessionID returns the id of the direct session between users a and b:
// "d:<min>:<max>" in byte order, the same whichever of them asks. Invalid user
// ids and a == b are KindInvalid.
func DirectSessionID(a, b string) (string, error) {
	if !ValidUserID(a) || !ValidUserID(b) {
		return "", invalid("invalid user id")
	}
	if a == b {
		return "", invalid("a direct session needs two different users")
	}
	if a > b {
		a, b = b, a
	}
	return directPrefix + a + ":" + b, nil
}

// GroupSessionID returns the id of the group session with the given uuid:
// "g:<uuid>" in the canonical lower-case form.
func GroupSessionID(id uuid.UUID) string {
	return groupPrefix + id.String()
}

// SessionKind returns events.KindDirect or events.KindGroup for a well-formed
// session id. Anything else is KindInvalid: an unknown prefix, a group id whose
// uuid is not in canonical lower-case form, a direct id whose users are
// invalid, equal or not in byte order. Each session therefore has exactly one
// id.
func SessionKind(sessionID string) (string, error) {
	switch {
	case strings.HasPrefix(sessionID, directPrefix):
		if _, _, ok := directUsers(sessionID); ok {
			return events.KindDirect, nil
		}
	case strings.HasPrefix(sessionID, groupPrefix):
		raw := sessionID[len(groupPrefix):]
		if id, err := uuid.Parse(raw); err == nil && id.String() == raw {
			return events.KindGroup, nil
		}
	}
	return "", invalid("invalid session id")
}

// DirectPeer returns the other member of a direct session id, and false when
// sessionID is not a well-formed direct session id or userID is not one of its
// two users.
func DirectPeer(sessionID, userID string) (string, bool) {
	a, b, ok := directUsers(sessionID)
	switch {
	case !ok:
		return "", false
	case userID == a:
		return b, true
	case userID == b:
		return a, true
	default:
		return "", false
	}
}

// directUsers splits a well-formed direct session id into its users, in order.
func directUsers(sessionID string) (a, b string, ok bool) {
	rest, found := strings.CutPrefix(sessionID, directPrefix)
	if !found {
		return "", "", false
	}
	a, b, found = strings.Cut(rest, ":")
	if !found || !ValidUserID(a) || !ValidUserID(b) || a >= b {
		return "", "", false
	}
	return a, b, true
}
