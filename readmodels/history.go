package readmodels

import (
	"context"
	"errors"
	"fmt"
	"math"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
)

// Page sizes of Messages.
const (
	DefaultPageLimit = 20
	MaxPageLimit     = 200
)

// PageQuery selects a page of a session's history.
type PageQuery struct {
	// AfterSeq pages forward: the first Limit messages with seq > AfterSeq.
	// Negative values count as 0.
	AfterSeq int64
	// BeforeSeq, when above 0, pages back instead: the Limit messages just
	// below BeforeSeq (and still above AfterSeq).
	BeforeSeq int64
	// Limit is the page size: DefaultPageLimit when 0 or negative, at most
	// MaxPageLimit (larger values are clamped).
	Limit int
	// ReplyTo, when not empty, pages a thread: only the session's messages
	// whose replyTo is this message id. An id no message has (or that is
	// not a UUID) gives empty pages.
	ReplyTo string
}

// MessagePage is a page of history, always in ascending seq order.
type MessagePage struct {
	Messages []Message `json:"messages"`
	// LastSeq is the seq of the session's latest message in the history read
	// model, or the seq its messages expired up to when that is higher, read
	// in the same snapshot as Messages.
	LastSeq int64 `json:"lastSeq"`
	// HasMore tells that the page was cut at Limit: more messages follow it
	// (paging forward) or precede it (paging back, with BeforeSeq).
	HasMore bool `json:"hasMore"`
}

// historyPage joins one row (the session's latest seq, and whether the
// sessions model knows the session) to a page of rm_messages, so that both come
// from one snapshot. The first %s narrows the page to a thread (threadFilter)
// or not; the second is the page's scan direction.
const historyPage = `
WITH head AS (
    SELECT GREATEST(coalesce((SELECT max(seq) FROM rm_messages WHERE session_id = $1), 0),
                    coalesce((SELECT expired_seq FROM rm_sessions WHERE session_id = $1), 0)) AS last_seq,
           EXISTS (SELECT 1 FROM rm_sessions WHERE session_id = $1) AS known
)
SELECT h.last_seq, h.known, ` + messageColumns + `
FROM head h
LEFT JOIN LATERAL (
    SELECT * FROM rm_messages p
    WHERE p.session_id = $1 AND p.seq > $2 AND p.seq < $3%s
    ORDER BY p.seq %s LIMIT $4
) m ON true
ORDER BY m.seq`

// threadFilter keeps the replies to message $5, through the partial index on
// (session_id, reply_to, seq).
const threadFilter = ` AND p.reply_to = $5`

// Messages returns a page of a session's history in ascending seq order (of
// one thread of it, with pq.ReplyTo). It fetches one message more than the
// page holds to tell HasMore, in one statement. LastSeq is the session's,
// thread or not. Its error matches ErrNotFound when the read models know
// nothing of the session. It does not check membership: that is the caller's.
func (q *Queries) Messages(ctx context.Context, sessionID string, pq PageQuery) (MessagePage, error) {
	limit := clamp(pq.Limit, DefaultPageLimit, MaxPageLimit)
	after, before := max(pq.AfterSeq, 0), pq.BeforeSeq
	backward := before > 0
	dir := "ASC"
	if backward {
		dir = "DESC"
	} else {
		before = math.MaxInt64
	}
	filter, args := "", []any{sessionID, after, before, limit + 1}
	if pq.ReplyTo != "" {
		// An id that is not a UUID is no message's: NULL matches no row.
		var replyTo pgtype.UUID
		if id, err := uuid.Parse(pq.ReplyTo); err == nil {
			replyTo = pgtype.UUID{Bytes: id, Valid: true}
		}
		filter, args = threadFilter, append(args, replyTo)
	}
	rows, err := q.pool.Query(ctx, fmt.Sprintf(historyPage, filter, dir), args...)
	if err != nil {
		return MessagePage{}, fmt.Errorf("page history of %s: %w", sessionID, err)
	}
	defer rows.Close()
	page := MessagePage{Messages: []Message{}}
	known := false
	for rows.Next() {
		var m optionalMessage
		if err := rows.Scan(append([]any{&page.LastSeq, &known}, m.fields()...)...); err != nil {
			return MessagePage{}, fmt.Errorf("page history of %s: %w", sessionID, err)
		}
		msg, err := m.message(&q.content)
		if err != nil {
			return MessagePage{}, fmt.Errorf("page history of %s: %w", sessionID, err)
		}
		if msg != nil {
			page.Messages = append(page.Messages, *msg)
		}
	}
	if err := rows.Err(); err != nil {
		return MessagePage{}, fmt.Errorf("page history of %s: %w", sessionID, err)
	}
	if !known && page.LastSeq == 0 {
		return MessagePage{}, fmt.Errorf("history of %s: %w", sessionID, ErrNotFound)
	}
	if len(page.Messages) > limit {
		page.HasMore = true
		if backward {
			page.Messages = page.Messages[1:] // the oldest one only told there are more
		} else {
			page.Messages = page.Messages[:limit]
		}
	}
	return page, nil
}

// MessageByID returns one message of a session. Its error matches ErrNotFound
// when the session holds no message with that id (or the id is not a UUID).
func (q *Queries) MessageByID(ctx context.Context, sessionID, messageID string) (Message, error) {
	id, err := uuid.Parse(messageID)
	if err != nil {
		return Message{}, fmt.Errorf("message %s in %s: %w", messageID, sessionID, ErrNotFound)
	}
	var r messageRow
	err = q.pool.QueryRow(ctx, `SELECT `+messageColumns+` FROM rm_messages m
		WHERE m.message_id = $1 AND m.session_id = $2`, id, sessionID).Scan(r.fields()...)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return Message{}, fmt.Errorf("message %s in %s: %w", messageID, sessionID, ErrNotFound)
	case err != nil:
		return Message{}, fmt.Errorf("read message %s in %s: %w", messageID, sessionID, err)
	}
	m, err := r.message(&q.content)
	if err != nil {
		return Message{}, fmt.Errorf("read message %s in %s: %w", messageID, sessionID, err)
	}
	return m, nil
}

// LastSeq returns the seq of the session's latest message in the history read
// model, or the seq its messages expired up to when that is higher (0 before
// the first). Its error matches ErrNotFound when the read
// models know nothing of the session.
func (q *Queries) LastSeq(ctx context.Context, sessionID string) (int64, error) {
	var last int64
	var known bool
	err := q.pool.QueryRow(ctx, `SELECT
		GREATEST(coalesce((SELECT max(seq) FROM rm_messages WHERE session_id = $1), 0),
			coalesce((SELECT expired_seq FROM rm_sessions WHERE session_id = $1), 0)),
		EXISTS (SELECT 1 FROM rm_sessions WHERE session_id = $1)`, sessionID).Scan(&last, &known)
	if err != nil {
		return 0, fmt.Errorf("read last seq of %s: %w", sessionID, err)
	}
	if !known && last == 0 {
		return 0, fmt.Errorf("last seq of %s: %w", sessionID, ErrNotFound)
	}
	return last, nil
}
