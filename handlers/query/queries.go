package query

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/tellyou/tellyou/handlers/command"

	"github.com/tellyou/tellyou/domain"
	"github.com/tellyou/tellyou/events"
	"github.com/tellyou/tellyou/readmodels"
)

// ReadModels is what the queries need of readmodels.
type ReadModels interface {
	command.MessageLookup
	Sessions(ctx context.Context, userID string) ([]readmodels.Session, error)
	Session(ctx context.Context, sessionID, userID string) (readmodels.Session, error)
	Messages(ctx context.Context, sessionID string, q readmodels.PageQuery) (readmodels.MessagePage, error)
	Inbox(ctx context.Context, userID string, limit int) ([]readmodels.Message, error)
	Unread(ctx context.Context, userID string) (readmodels.UnreadSummary, error)
	Search(ctx context.Context, q readmodels.SearchQuery) (readmodels.SearchPage, error)
	ExportSessions(ctx context.Context, userID, afterSessionID string, limit int) ([]readmodels.ExportSession, error)
	MessagesBySender(ctx context.Context, sessionID, senderID string, afterSeq int64, limit int) ([]readmodels.Message, error)
}

// Queries answers reads. Access is checked against the session's event-sourced
// state (always current); the answers come from the read models, which trail the
// log by the projection lag.
type Queries struct {
	repo  *command.SessionRepository
	rm    ReadModels
	store command.EventStore
	ack   *command.AckHandler
}

// NewQueries builds the query side on top of the commands' session repository.
func NewQueries(cmds *command.Commands, rm ReadModels, store command.EventStore) (*Queries, error) {
	if cmds == nil || rm == nil || store == nil {
		return nil, errors.New("new queries: nil dependency")
	}
	return &Queries{repo: cmds.Sessions, rm: rm, store: store, ack: cmds.Ack}, nil
}

// CheckAccess reports not_found or forbidden unless userID is a member of
// the session.
func (q *Queries) CheckAccess(ctx context.Context, userID, sessionID string) error {
	_, err := q.lastSeqFor(ctx, userID, sessionID)
	return err
}

// lastSeqFor checks that userID is a member of the session, as CheckAccess,
// and returns the session's last seq in the log.
func (q *Queries) lastSeqFor(ctx context.Context, userID, sessionID string) (int64, error) {
	if _, err := domain.SessionKind(sessionID); err != nil {
		return 0, err
	}
	var lastSeq int64
	var denied error
	err := q.repo.View(ctx, sessionID, func(s *domain.Session) {
		lastSeq, denied = s.LastSeq, s.CheckAccess(userID)
	})
	if err != nil {
		return 0, err
	}
	return lastSeq, denied
}

// Sessions lists the user's sessions, latest activity first.
func (q *Queries) Sessions(ctx context.Context, userID string) ([]readmodels.Session, error) {
	list, err := q.rm.Sessions(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("list sessions of %s: %w", userID, err)
	}
	return list, nil
}

// MessagesQuery pages a session's history.
type MessagesQuery struct {
	Meta      command.RequestMeta
	SessionID string
	Page      readmodels.PageQuery
	// MarkRead also moves the user's read watermark to the last returned seq,
	// as an offline pull does.
	MarkRead bool
}

// readModelWait bounds how long a forward page waits for the history read
// model to catch up with the log, and readModelPoll how often it looks.
const (
	readModelWait = 3 * time.Second
	readModelPoll = 20 * time.Millisecond
)

// Messages returns a page of history to a member: of the whole session, or
// of the replies to one of its messages (mq.Page.ReplyTo).
//
// A page holds what the log holds, not only what the read model has applied
// so far: the read model lags the log, and a client that syncs after a
// reconnect must not miss a message that was appended while it was away (it
// was pushed to no one then), nor may a client that opens a session see an
// empty or shortened latest page just because the projection had not applied
// the session's last messages yet. So when the session's state, read from the
// log, knows of messages the page should hold and the read model does not
// hold them yet, Messages waits for the read model, up to readModelWait. Past
// that it answers what it has, with LastSeq the log's (and, paging forward,
// HasMore set), so that the client can tell the page is short.
func (q *Queries) Messages(ctx context.Context, mq MessagesQuery) (readmodels.MessagePage, error) {
	logLastSeq, err := q.lastSeqFor(ctx, mq.Meta.Actor, mq.SessionID)
	if err != nil {
		return readmodels.MessagePage{}, err
	}
	page, err := q.page(ctx, mq)
	if err != nil {
		return readmodels.MessagePage{}, err
	}
	deadline := time.Now().Add(readModelWait)
	for behindLog(page, mq.Page, logLastSeq) && time.Now().Before(deadline) {
		select {
		case <-ctx.Done():
			return readmodels.MessagePage{}, ctx.Err()
		case <-time.After(readModelPoll):
		}
		if page, err = q.page(ctx, mq); err != nil {
			return readmodels.MessagePage{}, err
		}
	}
	if behindLog(page, mq.Page, logLastSeq) {
		page.LastSeq = max(page.LastSeq, logLastSeq)
		if mq.Page.BeforeSeq <= 0 {
			page.HasMore = true
		}
	}
	if mq.MarkRead && len(page.Messages) > 0 {
		last := page.Messages[len(page.Messages)-1].Seq
		if _, err := q.ack.Handle(ctx, command.Ack{Meta: mq.Meta, SessionID: mq.SessionID, Seq: last, AckType: domain.AckRead}); err != nil {
			return readmodels.MessagePage{}, fmt.Errorf("mark %s read up to %d: %w", mq.SessionID, last, err)
		}
	}
	return page, nil
}

// page reads one page from the read model.
func (q *Queries) page(ctx context.Context, mq MessagesQuery) (readmodels.MessagePage, error) {
	page, err := q.rm.Messages(ctx, mq.SessionID, mq.Page)
	if errors.Is(err, readmodels.ErrNotFound) {
		// Known to the log, not yet to the read models: nothing to page yet.
		return readmodels.MessagePage{Messages: []readmodels.Message{}}, nil
	}
	if err != nil {
		return readmodels.MessagePage{}, fmt.Errorf("page messages of %s: %w", mq.SessionID, err)
	}
	return page, nil
}

// behindLog reports a page the read model could not answer in full yet. A
// forward page ends before the log's last seq without saying more follow. A
// backward page comes from a read model whose latest message is below the
// last one the page asks for, min(BeforeSeq-1, the log's last seq): the
// projection applies a session's messages in seq order, so once it holds that
// one it holds every message below it. A page from a read model that holds
// (or has expired) the log's last message is never behind, whatever it
// holds: expired messages leave gaps below it. A forward page of a thread, whose
// last reply is usually far below the log's last seq, is behind when the
// read model's latest message is.
func behindLog(page readmodels.MessagePage, pq readmodels.PageQuery, logLastSeq int64) bool {
	if page.LastSeq >= logLastSeq {
		// The read model has applied the log's last message (or expired
		// it): the page is whole, however short.
		return false
	}
	if pq.BeforeSeq > 0 {
		return page.LastSeq < min(pq.BeforeSeq-1, logLastSeq)
	}
	if page.HasMore {
		return false
	}
	if pq.ReplyTo != "" {
		return page.LastSeq < logLastSeq
	}
	last := pq.AfterSeq
	if n := len(page.Messages); n > 0 {
		last = page.Messages[n-1].Seq
	}
	return last < logLastSeq
}

// Inbox returns messages the user has not acked as received, oldest first.
func (q *Queries) Inbox(ctx context.Context, userID string, limit int) ([]readmodels.Message, error) {
	msgs, err := q.rm.Inbox(ctx, userID, limit)
	if err != nil {
		return nil, fmt.Errorf("inbox of %s: %w", userID, err)
	}
	return msgs, nil
}

// Unread returns the user's unread counts.
func (q *Queries) Unread(ctx context.Context, userID string) (readmodels.UnreadSummary, error) {
	u, err := q.rm.Unread(ctx, userID)
	if err != nil {
		return readmodels.UnreadSummary{}, fmt.Errorf("unread counts of %s: %w", userID, err)
	}
	return u, nil
}

// AuditQuery reads a session's raw events.
type AuditQuery struct {
	// Auditor must be true: only users with the auditor role read raw events.
	Auditor     bool
	SessionID   string
	FromVersion int64
	Limit       int
}

// MaxAuditLimit bounds one audit page.
const MaxAuditLimit = 1000

// Audit returns the raw events of a session's stream in order.
func (q *Queries) Audit(ctx context.Context, aq AuditQuery) ([]events.RecordedEvent, error) {
	if !aq.Auditor {
		return nil, &domain.Error{Kind: domain.KindForbidden, Reason: "only auditors read raw events"}
	}
	if _, err := domain.SessionKind(aq.SessionID); err != nil {
		return nil, err
	}
	recs, err := q.auditStream(ctx, aq.SessionID, aq.FromVersion, aq.Limit)
	if err != nil {
		return nil, err
	}
	if len(recs) == 0 && aq.FromVersion <= 1 {
		return nil, &domain.Error{Kind: domain.KindNotFound, Reason: "no such session"}
	}
	return recs, nil
}

// UserAuditQuery reads the events of a user's own stream
// (events.UserStreamPrefix + UserID): their erasure.
type UserAuditQuery struct {
	// Allowed must be true: only admins and auditors read a user's stream.
	Allowed     bool
	UserID      string
	FromVersion int64
	Limit       int
}

// AuditUser returns the raw events of a user's own stream in order. Users
// are not registered, so a user with no such events (never erased) gets an
// empty slice, not not_found.
func (q *Queries) AuditUser(ctx context.Context, aq UserAuditQuery) ([]events.RecordedEvent, error) {
	if !aq.Allowed {
		return nil, &domain.Error{Kind: domain.KindForbidden, Reason: "only admins and auditors read a user's events"}
	}
	if !domain.ValidUserID(aq.UserID) {
		return nil, &domain.Error{Kind: domain.KindInvalid, Reason: "invalid user id"}
	}
	return q.auditStream(ctx, events.UserStreamPrefix+aq.UserID, aq.FromVersion, aq.Limit)
}

// auditStream reads a stream's events from version from (at least 1), at
// most limit (MaxAuditLimit when out of 1 to MaxAuditLimit).
func (q *Queries) auditStream(ctx context.Context, stream string, from int64, limit int) ([]events.RecordedEvent, error) {
	from = max(from, 1)
	if limit <= 0 || limit > MaxAuditLimit {
		limit = MaxAuditLimit
	}
	recs, err := q.store.ReadStream(ctx, stream, from, limit)
	if err != nil {
		return nil, fmt.Errorf("audit %s from version %d: %w", stream, from, err)
	}
	return recs, nil
}

// SessionView renders a session's state as the sessions list shows it, for
// answers that must not wait for the read models (a group just created).
func SessionView(s *domain.Session, userID string) readmodels.Session {
	v := readmodels.Session{
		SessionID: s.ID,
		Kind:      s.Kind,
		Title:     s.Title,
		Owner:     s.Owner,
		Members:   s.MemberIDs(),
		LastSeq:   s.LastSeq,
	}
	if s.RetentionDays != nil {
		d := *s.RetentionDays
		v.RetentionDays = &d
	}
	if m, ok := s.Members[userID]; ok {
		v.ReceivedSeq, v.ReadSeq, v.Muted = m.ReceivedSeq, m.ReadSeq, m.Muted
	}
	return v
}

// Members returns a session's current members (none for a session that does
// not exist), from the event-sourced state.
func (q *Queries) Members(ctx context.Context, sessionID string) ([]string, error) {
	var ids []string
	if err := q.repo.View(ctx, sessionID, func(s *domain.Session) { ids = s.MemberIDs() }); err != nil {
		return nil, err
	}
	return ids, nil
}
