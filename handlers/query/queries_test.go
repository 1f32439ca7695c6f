package query_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/tellyou/tellyou/domain"
	"github.com/tellyou/tellyou/events"
	"github.com/tellyou/tellyou/handlers/command"
	"github.com/tellyou/tellyou/handlers/handlerstest"
	"github.com/tellyou/tellyou/handlers/query"
	"github.com/tellyou/tellyou/readmodels"
)

func TestUnreadCountsFollowTheProtocol(t *testing.T) {
	t.Parallel()
	e := handlerstest.New(t, handlerstest.Options{})
	ctx := context.Background()
	a1 := e.SendTo(t, "ann", "bob", "1", "a1")
	sid := a1.SessionID
	e.Send(t, "ann", sid, "2", "a2")
	a3 := e.Send(t, "ann", sid, "3", "a3")
	e.Send(t, "bob", sid, "bob's own", "b1") // never unread for bob
	e.Clock.Advance(time.Second)
	gid := e.Group(t, "cat", "bob")
	e.Send(t, "cat", gid, "group hello", "c1")

	unread := func(user string) readmodels.UnreadSummary {
		t.Helper()
		e.CaughtUp(t)
		u, err := e.Queries.Unread(ctx, user)
		if err != nil {
			t.Fatal(err)
		}
		return u
	}
	if u := unread("bob"); u.Total != 4 || u.Sessions[sid] != 3 || u.Sessions[gid] != 1 {
		t.Fatalf("bob unread = %+v, want 3 in %s and 1 in %s", u, sid, gid)
	}
	if u := unread("ann"); u.Total != 1 || u.Sessions[sid] != 1 {
		t.Fatalf("ann unread = %+v, want bob's one message", u)
	}
	if err := e.Commands.Recall.Handle(ctx, command.Recall{Meta: handlerstest.As("ann"), SessionID: sid, MessageID: a3.MessageID}); err != nil {
		t.Fatal(err)
	}
	if u := unread("bob"); u.Sessions[sid] != 2 {
		t.Fatalf("bob unread after a recall = %+v, want 2", u)
	}
	// An offline pull with markRead reads what it returned.
	page, err := e.Queries.Messages(ctx, query.MessagesQuery{Meta: handlerstest.As("bob"), SessionID: sid, Page: readmodels.PageQuery{Limit: 1}, MarkRead: true})
	if err != nil || len(page.Messages) != 1 || !page.HasMore || page.LastSeq != 4 {
		t.Fatalf("pull = %+v, %v", page, err)
	}
	if u := unread("bob"); u.Sessions[sid] != 1 || u.Total != 2 {
		t.Fatalf("bob unread after reading seq 1 = %+v, want 1 here, 2 in all", u)
	}
	inbox, err := e.Queries.Inbox(ctx, "bob", 0)
	if err != nil {
		t.Fatal(err)
	}
	// Read implies received: seq 1 left the inbox; 2, 3 (recalled) and the group message remain.
	if len(inbox) != 3 || inbox[0].Seq != 2 || inbox[1].Seq != 3 || !inbox[1].Recalled || inbox[2].SessionID != gid {
		t.Fatalf("bob's inbox = %+v", inbox)
	}
	sessions, err := e.Queries.Sessions(ctx, "bob")
	if err != nil || len(sessions) != 2 || sessions[0].SessionID != gid {
		t.Fatalf("bob's sessions = %+v, %v; latest activity (the group) first", sessions, err)
	}
}

func TestAuditIsForAuditorsOnly(t *testing.T) {
	t.Parallel()
	e := handlerstest.New(t, handlerstest.Options{})
	ctx := context.Background()
	ack := e.SendTo(t, "ann", "bob", "for the record", "c1")
	if _, err := e.Queries.Audit(ctx, query.AuditQuery{SessionID: ack.SessionID}); !errors.Is(err, domain.ErrForbidden) {
		t.Fatalf("audit by a non-auditor = %v, want forbidden", err)
	}
	recs, err := e.Queries.Audit(ctx, query.AuditQuery{Auditor: true, SessionID: ack.SessionID})
	if err != nil || len(recs) != 2 || recs[0].Type != "SessionCreated" || recs[1].Version != 2 {
		t.Fatalf("audit = %+v, %v", recs, err)
	}
	if _, err := e.Queries.Audit(ctx, query.AuditQuery{Auditor: true, SessionID: "d:no:one"}); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("audit of a missing session = %v, want not_found", err)
	}
}

// holdHistoryProjection keeps the history projection from applying events,
// by a transaction that holds its checkpoint row, until release is called
// (or the test ends).
func holdHistoryProjection(t *testing.T, e *handlerstest.Engine) (release func()) {
	t.Helper()
	blocker, err := e.Pool.Begin(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	release = func() { _ = blocker.Rollback(context.Background()) }
	t.Cleanup(release)
	if _, err := blocker.Exec(context.Background(), "SELECT FROM rm_checkpoints WHERE name = 'history' FOR UPDATE"); err != nil {
		t.Fatal(err)
	}
	return release
}

// lagBehindThreeMessages makes a session whose first message ann sent to bob
// is in the read model, holds the history projection back, and has ann send
// 3 more ("while away 1".."3"): the log is 3 messages ahead of the read
// model until release is called.
func lagBehindThreeMessages(t *testing.T) (e *handlerstest.Engine, first command.SendAck, release func()) {
	t.Helper()
	e = handlerstest.New(t, handlerstest.Options{})
	first = e.SendTo(t, "ann", "bob", "before", "c0")
	e.CaughtUp(t)
	release = holdHistoryProjection(t, e)
	for i := 1; i <= 3; i++ {
		e.Send(t, "ann", first.SessionID, fmt.Sprintf("while away %d", i), fmt.Sprintf("c%d", i))
	}
	return e, first, release
}

// pageOnceReleased asks bob's page pq of the session while the history
// projection is held back: it fails the test if the page is answered before
// release is called, then releases it and returns the page.
func pageOnceReleased(t *testing.T, e *handlerstest.Engine, pq readmodels.PageQuery, sessionID string, release func()) readmodels.MessagePage {
	t.Helper()
	type answer struct {
		page readmodels.MessagePage
		err  error
	}
	got := make(chan answer, 1)
	go func() {
		page, err := e.Queries.Messages(context.Background(), query.MessagesQuery{Meta: handlerstest.As("bob"), SessionID: sessionID, Page: pq})
		got <- answer{page, err}
	}()
	time.Sleep(300 * time.Millisecond) // the page is being held back meanwhile
	select {
	case a := <-got:
		t.Fatalf("answered while the read model was behind: %+v, %v", a.page, a.err)
	default:
	}
	release()
	a := <-got
	if a.err != nil {
		t.Fatal(a.err)
	}
	return a.page
}

// A forward page holds every message the log has, even while the history
// projection lags: a sync after a reconnect must not miss what was sent while
// the client was away. A transaction holding the history projection's
// checkpoint row keeps it from applying the new messages until it ends.
func TestForwardPagesWaitForTheReadModelToCatchUp(t *testing.T) {
	t.Parallel()
	e, first, release := lagBehindThreeMessages(t)
	page := pageOnceReleased(t, e, readmodels.PageQuery{AfterSeq: first.Seq}, first.SessionID, release)
	if len(page.Messages) != 3 || page.Messages[2].Content != "while away 3" || page.LastSeq != first.Seq+3 || page.HasMore {
		t.Fatalf("page %+v, want the 3 messages sent while away", page)
	}
}

// A backward page (the latest messages, as a client shows when it opens a
// session) holds the log's latest messages too, even while the history
// projection lags; a page wholly below what the read model holds is answered
// at once.
func TestBackwardPagesWaitForTheReadModelToCatchUp(t *testing.T) {
	t.Parallel()
	e, first, release := lagBehindThreeMessages(t)
	// Below the read model's latest message: nothing to wait for.
	old, err := e.Queries.Messages(context.Background(), query.MessagesQuery{Meta: handlerstest.As("bob"),
		SessionID: first.SessionID, Page: readmodels.PageQuery{BeforeSeq: first.Seq + 1}})
	if err != nil || len(old.Messages) != 1 || old.Messages[0].Content != "before" {
		t.Fatalf("page before seq %d = %+v, %v; want the first message at once", first.Seq+1, old, err)
	}

	page := pageOnceReleased(t, e, readmodels.PageQuery{BeforeSeq: math.MaxInt64, Limit: 2}, first.SessionID, release)
	if len(page.Messages) != 2 || page.Messages[1].Content != "while away 3" || page.LastSeq != first.Seq+3 || !page.HasMore {
		t.Fatalf("page %+v, want the latest 2 messages, more before them", page)
	}
}

// appendReply appends, as the write side does for a send with a replyTo, a
// message of from answering message replyTo at seq, and returns it.
func appendReply(t *testing.T, e *handlerstest.Engine, sessionID string, seq int64, from, content, replyTo string) events.MessageSent {
	t.Helper()
	now := e.Clock.Now().UnixMilli()
	m := events.MessageSent{SessionID: sessionID, MessageID: uuid.NewString(), Seq: seq, SenderID: from,
		MessageType: 1, Content: content, ClientMessageID: uuid.NewString(), ClientTimestamp: now,
		ServerTimestamp: now, AdjustedTimestamp: now, ReplyTo: replyTo}
	data, err := events.Encode(events.Envelope{Payload: m, Meta: events.Metadata{Actor: from, CorrelationID: "reply", OccurredAt: now}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Store.Append(context.Background(), sessionID, events.AnyVersion, []events.EventData{data}); err != nil {
		t.Fatal(err)
	}
	return m
}

// A thread page is answered from a read model that holds the session's
// latest message, though its replies end far below it; while the read model
// lags the log, a forward thread page waits for it as a history page does.
func TestThreadPagesWaitOnlyForTheSessionsLatestMessage(t *testing.T) {
	t.Parallel()
	e := handlerstest.New(t, handlerstest.Options{})
	root := e.SendTo(t, "ann", "bob", "root", "c0")
	sid := root.SessionID
	first := appendReply(t, e, sid, root.Seq+1, "bob", "first reply", root.MessageID)
	for i := range 5 {
		e.Send(t, "ann", sid, fmt.Sprintf("after the reply %d", i), fmt.Sprintf("c%d", i+1))
	}
	e.CaughtUp(t)
	thread := readmodels.PageQuery{ReplyTo: root.MessageID}
	page, err := e.Queries.Messages(context.Background(), query.MessagesQuery{Meta: handlerstest.As("bob"), SessionID: sid, Page: thread})
	if err != nil || len(page.Messages) != 1 || page.Messages[0].MessageID != first.MessageID ||
		page.Messages[0].ReplyTo != root.MessageID || page.HasMore || page.LastSeq != root.Seq+6 {
		t.Fatalf("thread page = %+v, %v; want the one reply, nothing more, lastSeq %d", page, err, root.Seq+6)
	}

	release := holdHistoryProjection(t, e)
	second := appendReply(t, e, sid, root.Seq+7, "ann", "second reply", root.MessageID)
	page = pageOnceReleased(t, e, readmodels.PageQuery{ReplyTo: root.MessageID, AfterSeq: first.Seq}, sid, release)
	if len(page.Messages) != 1 || page.Messages[0].MessageID != second.MessageID || page.HasMore || page.LastSeq != second.Seq {
		t.Fatalf("thread page = %+v; want the reply the log had", page)
	}
	if _, err := e.Queries.Messages(context.Background(), query.MessagesQuery{Meta: handlerstest.As("cat"), SessionID: sid, Page: thread}); !errors.Is(err, domain.ErrForbidden) {
		t.Fatalf("a thread page for a stranger: %v, want forbidden", err)
	}
}
