package readmodels

import (
	"context"
	"fmt"
)

// Inbox sizes.
const (
	DefaultInboxLimit = 100
	MaxInboxLimit     = 500
)

// inboxQuery takes, from each of member $1's sessions, the first $2 messages
// from other members above the member's received watermark (a seq prefix,
// found by a range scan of the primary key), then orders them oldest first.
//
// "Oldest" is the running maximum of server_ts along seq within a session:
// server clocks of different nodes may disagree, and the inbox must keep each
// session in seq order even when a later seq carries an earlier timestamp.
// Because the sort key never decreases along seq, the first $2 messages overall
// take only seq prefixes of each session, so the per-session LIMIT changes
// nothing but the cost.
const inboxQuery = `
SELECT ` + messageColumns + `
FROM (
    SELECT p.*, max(p.server_ts) OVER (PARTITION BY p.session_id ORDER BY p.seq) AS sort_ts
    FROM rm_members mb
    CROSS JOIN LATERAL (
        SELECT * FROM rm_messages x
        WHERE x.session_id = mb.session_id AND x.seq > mb.received_seq AND x.sender_id <> mb.user_id
        ORDER BY x.seq LIMIT $2
    ) p
    WHERE mb.user_id = $1
) m
ORDER BY m.sort_ts, m.session_id, m.seq
LIMIT $2`

// Inbox returns the offline inbox of userID: messages from other members that
// the user has not acked as received (seq above the received watermark),
// across all the user's current sessions, oldest first (by server time, then
// session id, then seq; within a session always in seq order). Recalled
// messages are included, marked recalled with empty content, so that a client
// keyed by (sessionId, seq) sees no hole. limit is DefaultInboxLimit when 0 or
// negative, at most MaxInboxLimit.
func (q *Queries) Inbox(ctx context.Context, userID string, limit int) ([]Message, error) {
	limit = clamp(limit, DefaultInboxLimit, MaxInboxLimit)
	rows, err := q.pool.Query(ctx, inboxQuery, userID, limit)
	if err != nil {
		return nil, fmt.Errorf("read inbox of %s: %w", userID, err)
	}
	msgs, err := collectMessages(rows, &q.content)
	if err != nil {
		return nil, fmt.Errorf("read inbox of %s: %w", userID, err)
	}
	return msgs, nil
}

// UnreadSummary is the answer of GET /v1/unread.
type UnreadSummary struct {
	// Total is the sum of Sessions.
	Total int64 `json:"total"`
	// Sessions maps session ids to their unread counts; sessions with nothing
	// unread are left out. Never nil.
	Sessions map[string]int64 `json:"sessions"`
}

// Unread counts, in each of userID's current sessions, the messages from other
// members with seq above the user's read watermark that are not recalled.
func (q *Queries) Unread(ctx context.Context, userID string) (UnreadSummary, error) {
	rows, err := q.pool.Query(ctx, `
SELECT mb.session_id, u.n
FROM rm_members mb
CROSS JOIN LATERAL (
    SELECT count(*) AS n FROM rm_messages m
    WHERE m.session_id = mb.session_id AND m.seq > mb.read_seq
      AND m.sender_id <> mb.user_id AND NOT m.recalled
) u
WHERE mb.user_id = $1 AND u.n > 0`, userID)
	if err != nil {
		return UnreadSummary{}, fmt.Errorf("count unread of %s: %w", userID, err)
	}
	defer rows.Close()
	sum := UnreadSummary{Sessions: map[string]int64{}}
	for rows.Next() {
		var id string
		var n int64
		if err := rows.Scan(&id, &n); err != nil {
			return UnreadSummary{}, fmt.Errorf("count unread of %s: %w", userID, err)
		}
		sum.Sessions[id] = n
		sum.Total += n
	}
	if err := rows.Err(); err != nil {
		return UnreadSummary{}, fmt.Errorf("count unread of %s: %w", userID, err)
	}
	return sum, nil
}
