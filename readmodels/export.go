package readmodels

import (
	"context"
	"fmt"
)

// Page sizes of ExportSessions and MessagesBySender.
const (
	DefaultExportPage = 500
	MaxExportPage     = 5000
)

// ExportSession is one session of a user's data export: what the session is
// and the user's watermarks in it.
type ExportSession struct {
	SessionID string `json:"sessionId"`
	// Kind is "direct" or "group"; Title and Owner are empty for direct ones.
	Kind  string `json:"kind"`
	Title string `json:"title"`
	Owner string `json:"owner"`
	// Members are the current members' user ids in byte order.
	Members []string `json:"members"`
	// CreatedAt is the server time of the session's creation, ms since the
	// Unix epoch.
	CreatedAt   int64 `json:"createdAt"`
	ReceivedSeq int64 `json:"receivedSeq"`
	ReadSeq     int64 `json:"readSeq"`
}

// ExportSessions returns up to limit (DefaultExportPage when 0 or negative,
// at most MaxExportPage) of the sessions userID is a current member of whose
// id sorts after afterSessionID in byte order, in that order: a keyset page
// over rm_members' (user_id, session_id) index. Sessions the user left are
// not among them.
func (q *Queries) ExportSessions(ctx context.Context, userID, afterSessionID string, limit int) ([]ExportSession, error) {
	limit = ExportPageSize(limit)
	rows, err := q.pool.Query(ctx, `
SELECT s.session_id, s.kind, s.title, s.owner, s.created_at, mb.received_seq, mb.read_seq,
       ARRAY(SELECT o.user_id FROM rm_members o WHERE o.session_id = s.session_id ORDER BY o.user_id)
FROM rm_members mb
JOIN rm_sessions s ON s.session_id = mb.session_id
WHERE mb.user_id = $1 AND mb.session_id > $2
ORDER BY mb.session_id
LIMIT $3`, userID, afterSessionID, limit)
	if err != nil {
		return nil, fmt.Errorf("export sessions of %s after %q: %w", userID, afterSessionID, err)
	}
	defer rows.Close()
	list := []ExportSession{}
	for rows.Next() {
		var s ExportSession
		if err := rows.Scan(&s.SessionID, &s.Kind, &s.Title, &s.Owner, &s.CreatedAt,
			&s.ReceivedSeq, &s.ReadSeq, &s.Members); err != nil {
			return nil, fmt.Errorf("export sessions of %s: %w", userID, err)
		}
		list = append(list, s)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("export sessions of %s: %w", userID, err)
	}
	return list, nil
}

// ExportPageSize is the page size the export queries apply when asked for
// limit rows: a page shorter than it is the last one.
func ExportPageSize(limit int) int { return clamp(limit, DefaultExportPage, MaxExportPage) }

// MessagesBySender returns up to limit (DefaultExportPage when 0 or
// negative, at most MaxExportPage) of the messages senderID sent in the
// session with seq > afterSeq, in seq order, in the form history pages give
// them (latest content, reactions; recalled ones with no content).
//
// It walks the primary key's (session_id, seq) range from afterSeq and
// filters on sender_id, which the key carries: paging on from the last seq
// returned, a whole session is read once however few of its messages are the
// sender's. An index on (session_id, sender_id, seq) would read only the
// sender's, at the price of one more index entry on every message sent; an
// export is rare, a send is not.
func (q *Queries) MessagesBySender(ctx context.Context, sessionID, senderID string, afterSeq int64, limit int) ([]Message, error) {
	limit = ExportPageSize(limit)
	rows, err := q.pool.Query(ctx, `SELECT `+messageColumns+` FROM rm_messages m
		WHERE m.session_id = $1 AND m.seq > $2 AND m.sender_id = $3
		ORDER BY m.seq LIMIT $4`, sessionID, max(afterSeq, 0), senderID, limit)
	if err != nil {
		return nil, fmt.Errorf("page messages of %s in %s after %d: %w", senderID, sessionID, afterSeq, err)
	}
	msgs, err := collectMessages(rows, &q.content)
	if err != nil {
		return nil, fmt.Errorf("page messages of %s in %s after %d: %w", senderID, sessionID, afterSeq, err)
	}
	return msgs, nil
}
