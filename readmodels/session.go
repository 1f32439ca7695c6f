package readmodels

import (
	"context"
	"fmt"
)

// Session is one session as a member sees it: an entry of the sessions list,
// and the answer to a group's creation.
type Session struct {
	SessionID string `json:"sessionId"`
	// Kind is "direct" or "group".
	Kind string `json:"kind"`
	// Title and Owner are empty for direct sessions.
	Title string `json:"title"`
	Owner string `json:"owner"`
	// Members are the current members' user ids in byte order.
	Members []string `json:"members"`
	// LastSeq is the seq of the session's latest message (0: none yet).
	LastSeq int64 `json:"lastSeq"`
	// LastMessage is the latest message the history read model holds at or
	// below LastSeq (recalled ones with empty content), or nil.
	LastMessage *Message `json:"lastMessage"`
	// ReceivedSeq and ReadSeq are the user's watermarks.
	ReceivedSeq int64 `json:"receivedSeq"`
	ReadSeq     int64 `json:"readSeq"`
	// UnreadCount counts the messages from other members above ReadSeq that
	// are not recalled.
	UnreadCount int64 `json:"unreadCount"`
	// Muted is the user's own setting: no offline notifications for the
	// session.
	Muted bool `json:"muted"`
	// RetentionDays is the session's own retention in days; nil: the
	// server's default applies (which may be none).
	RetentionDays *int `json:"retentionDays"`
}

// sessionsQuery selects the sessions of member $1 (and, with the filter
// appended, only session $2) with everything a list entry shows, in one
// statement: members, unread count and last message come from LATERAL
// subqueries, each an index range scan.
const sessionsQuery = `
SELECT s.session_id, s.kind, s.title, s.owner, s.last_seq, mb.received_seq, mb.read_seq,
       mem.members, unread.n, mb.muted, s.retention_days, ` + messageColumns + `
FROM rm_members mb
JOIN rm_sessions s ON s.session_id = mb.session_id
CROSS JOIN LATERAL (
    SELECT array_agg(o.user_id ORDER BY o.user_id) AS members
    FROM rm_members o WHERE o.session_id = s.session_id
) mem
CROSS JOIN LATERAL (
    SELECT count(*) AS n FROM rm_messages u
    WHERE u.session_id = s.session_id AND u.seq > mb.read_seq
      AND u.sender_id <> mb.user_id AND NOT u.recalled
) unread
LEFT JOIN LATERAL (
    SELECT * FROM rm_messages l
    WHERE l.session_id = s.session_id AND l.seq <= s.last_seq
    ORDER BY l.seq DESC LIMIT 1
) m ON true
WHERE mb.user_id = $1`

// Sessions returns the sessions userID is a member of, latest activity first
// (the server time of the latest message, or the creation time), ties in
// session id byte order. A user with no sessions gets an empty slice.
func (q *Queries) Sessions(ctx context.Context, userID string) ([]Session, error) {
	list, err := q.sessions(ctx, sessionsQuery+` ORDER BY s.last_activity DESC, s.session_id`, userID)
	if err != nil {
		return nil, fmt.Errorf("list sessions of %s: %w", userID, err)
	}
	return list, nil
}

// Session returns one session as userID sees it. Its error matches ErrNotFound
// when the read models hold no such session, and ErrNotMember when userID is
// not a current member.
func (q *Queries) Session(ctx context.Context, sessionID, userID string) (Session, error) {
	list, err := q.sessions(ctx, sessionsQuery+` AND mb.session_id = $2`, userID, sessionID)
	if err != nil {
		return Session{}, fmt.Errorf("read session %s for %s: %w", sessionID, userID, err)
	}
	if len(list) == 1 {
		return list[0], nil
	}
	var exists bool
	err = q.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM rm_sessions WHERE session_id = $1)`, sessionID).Scan(&exists)
	switch {
	case err != nil:
		return Session{}, fmt.Errorf("read session %s: %w", sessionID, err)
	case exists:
		return Session{}, fmt.Errorf("session %s for %s: %w", sessionID, userID, ErrNotMember)
	default:
		return Session{}, fmt.Errorf("session %s: %w", sessionID, ErrNotFound)
	}
}

func (q *Queries) sessions(ctx context.Context, sql string, args ...any) ([]Session, error) {
	rows, err := q.pool.Query(ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	list := []Session{}
	for rows.Next() {
		var s Session
		var last optionalMessage
		dst := append([]any{&s.SessionID, &s.Kind, &s.Title, &s.Owner, &s.LastSeq,
			&s.ReceivedSeq, &s.ReadSeq, &s.Members, &s.UnreadCount, &s.Muted, &s.RetentionDays}, last.fields()...)
		if err := rows.Scan(dst...); err != nil {
			return nil, err
		}
		var err error
		if s.LastMessage, err = last.message(&q.content); err != nil {
			return nil, err
		}
		list = append(list, s)
	}
	return list, rows.Err()
}
