package readmodels

import (
	"context"
	"fmt"
)

// DayMillis is one day in ms: retention is counted in whole days of server
// time.
const DayMillis int64 = 24 * 60 * 60 * 1000

// Expiry is a session with messages past its retention.
type Expiry struct {
	SessionID string
	// Before is the session's cutoff: now less its retention, server time in
	// ms. Messages with an earlier server timestamp are due.
	Before int64
	// UpToSeq is the highest seq such that every message up to it is due:
	// just below the first message held that is not, or the session's last
	// seq.
	UpToSeq int64
}

// ExpiryQuery asks for a page of sessions with messages due.
type ExpiryQuery struct {
	// Now is the server time, ms since the Unix epoch.
	Now int64
	// DefaultDays is the server's default retention in days for sessions
	// without their own; 0: none, only sessions with their own retention
	// are looked at (through the partial index on rm_sessions).
	DefaultDays int
	// AfterSessionID pages: only sessions after it in byte order.
	AfterSessionID string
	// Limit is the most sessions returned (1..1000; default 100).
	Limit int
}

// dueQuery finds, per candidate session in id order, its first message
// still held (an index probe on rm_messages' primary key) and, when that is
// due, the first message held that is not (a range scan over the due ones,
// which the expiry deletes).
const dueQuery = `
SELECT c.session_id, c.before, COALESCE(nd.seq - 1, c.last_seq)
FROM (
    SELECT s.session_id, s.last_seq, $1::bigint - COALESCE(s.retention_days, $2::int)::bigint * 86400000 AS before
    FROM rm_sessions s
    WHERE %s AND s.session_id > $3
    ORDER BY s.session_id
) c
CROSS JOIN LATERAL (
    SELECT f.server_ts FROM rm_messages f WHERE f.session_id = c.session_id ORDER BY f.seq LIMIT 1
) first
LEFT JOIN LATERAL (
    SELECT n.seq FROM rm_messages n
    WHERE n.session_id = c.session_id AND n.server_ts >= c.before
    ORDER BY n.seq LIMIT 1
) nd ON true
WHERE first.server_ts < c.before
ORDER BY c.session_id
LIMIT $4`

// DueExpiries returns the sessions with messages past their effective
// retention (their own, or DefaultDays), in session id order. A message is
// due when its server timestamp lies before the cutoff; expiry goes by seq,
// so a session is due up to just below its first message that is not.
func (q *Queries) DueExpiries(ctx context.Context, eq ExpiryQuery) ([]Expiry, error) {
	filter := "s.retention_days IS NOT NULL"
	if eq.DefaultDays > 0 {
		filter = "true"
	}
	return q.expiries(ctx, "find sessions with expired messages", fmt.Sprintf(dueQuery, filter),
		eq.Now, eq.DefaultDays, eq.AfterSessionID, clamp(eq.Limit, 100, 1000))
}

// expiredQuery pages the sessions that have had an expiry and still have an
// effective retention, with their cutoff.
const expiredQuery = `
SELECT s.session_id, $1::bigint - COALESCE(s.retention_days, $2::int)::bigint * 86400000, s.expired_seq
FROM rm_sessions s
WHERE s.expired_seq > 0 AND (s.retention_days IS NOT NULL OR $2::int > 0) AND s.session_id > $3
ORDER BY s.session_id
LIMIT $4`

// ExpiredSessions returns, in session id order, the sessions that have had
// an expiry and still have an effective retention, each with its cutoff
// (Before) and the seq it expired up to (UpToSeq). The retention sweeper
// shreds their content keys of the days that have since fallen wholly
// behind the cutoff, which no new expiry may prompt.
func (q *Queries) ExpiredSessions(ctx context.Context, eq ExpiryQuery) ([]Expiry, error) {
	return q.expiries(ctx, "list sessions with expired messages", expiredQuery,
		eq.Now, eq.DefaultDays, eq.AfterSessionID, clamp(eq.Limit, 100, 1000))
}

// expiries runs a query of (session id, cutoff, seq) rows; what says what it
// was for, in its errors.
func (q *Queries) expiries(ctx context.Context, what, query string, args ...any) ([]Expiry, error) {
	rows, err := q.pool.Query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	defer rows.Close()
	var out []Expiry
	for rows.Next() {
		var e Expiry
		if err := rows.Scan(&e.SessionID, &e.Before, &e.UpToSeq); err != nil {
			return nil, fmt.Errorf("%s: read a row: %w", what, err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return out, nil
}
