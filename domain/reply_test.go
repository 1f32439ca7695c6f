package domain_test

import (
	"errors"
	"testing"
	"time"

	"github.com/tellyou/tellyou/domain"
	"github.com/tellyou/tellyou/events"
)

func TestReplies(t *testing.T) {
	t.Parallel()
	p := domain.DefaultPolicy()
	s := groupSession(t, p, "alice", "bob")
	m := mustSend(t, s, p, sendCmd(s, "alice", "c1", t0))

	reply := sendCmd(s, "bob", "r1", t0+1)
	reply.ReplyTo = m.MessageID
	_, evs, err := domain.DecideSend(s, p, reply)
	if err != nil || len(evs) != 1 || evs[0].(events.MessageSent).ReplyTo != m.MessageID {
		t.Fatalf("reply = %+v, %v", evs, err)
	}
	applyAll(s, evs...)

	// A recalled message may be answered.
	rec, err := domain.DecideRecall(s, p, domain.RecallCommand{UserID: "alice", SessionID: groupID, MessageID: m.MessageID, Now: t0 + 2})
	if err != nil {
		t.Fatal(err)
	}
	applyAll(s, rec...)
	again := sendCmd(s, "bob", "r2", t0+3)
	again.ReplyTo = m.MessageID
	mustSend(t, s, p, again)

	// Another session's message, or none: refused.
	stranger := sendCmd(s, "bob", "r3", t0+4)
	stranger.ReplyTo = msgID(99)
	if _, _, err := domain.DecideSend(s, p, stranger); !errors.Is(err, domain.ErrUnknownReplyTo) || !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("reply to an unknown message = %v, want ErrUnknownReplyTo", err)
	}
	stranger.ReplyFound = &domain.HistoryMessage{MessageID: msgID(98)}
	if _, _, err := domain.DecideSend(s, p, stranger); !errors.Is(err, domain.ErrUnknownReplyTo) {
		t.Fatalf("reply with another message found = %v, want ErrUnknownReplyTo", err)
	}
	// A duplicate is answered as the original, whatever it replies to.
	dup := sendCmd(s, "bob", "r1", t0+5)
	dup.ReplyTo = msgID(99)
	if res, _, err := domain.DecideSend(s, p, dup); err != nil || !res.Duplicate {
		t.Fatalf("repeated reply = %+v, %v; want the original", res, err)
	}
	// A message the state forgot, found in the history.
	later := t0 + (25 * time.Hour).Milliseconds()
	mustSend(t, s, p, sendCmd(s, "alice", "c9", later))
	old := sendCmd(s, "bob", "r4", later)
	old.ReplyTo = msgID(0)
	old.MessageID = msgID(1000)
	if _, _, err := domain.DecideSend(s, p, old); !errors.Is(err, domain.ErrUnknownReplyTo) {
		t.Fatalf("reply to a forgotten message = %v, want ErrUnknownReplyTo", err)
	}
	old.ReplyFound = &domain.HistoryMessage{MessageID: msgID(0), Seq: 1}
	if _, evs, err := domain.DecideSend(s, p, old); err != nil || evs[0].(events.MessageSent).ReplyTo != msgID(0) {
		t.Fatalf("reply to a message found in the history = %+v, %v", evs, err)
	}
}

func TestApplyNewEventsAsPointers(t *testing.T) {
	t.Parallel()
	s := &domain.Session{ID: groupID}
	applyAll(s,
		&events.SessionCreated{SessionID: groupID, Kind: events.KindGroup, Owner: "alice", Members: []string{"alice", "bob"}},
		&events.MessageSent{SessionID: groupID, MessageID: msgID(1), Seq: 1, SenderID: "alice", ClientMessageID: "c1", ServerTimestamp: t0},
		&events.MessageEdited{SessionID: groupID, MessageID: msgID(1), Seq: 1, By: "alice", Content: "x", EditedAt: t0},
		&events.ReactionAdded{SessionID: groupID, MessageID: msgID(1), Seq: 1, UserID: "bob", Emoji: "a"},
		&events.ReactionAdded{SessionID: groupID, MessageID: msgID(1), Seq: 1, UserID: "alice", Emoji: "a"},
		&events.ReactionRemoved{SessionID: groupID, MessageID: msgID(1), Seq: 1, UserID: "alice", Emoji: "a"},
		events.ReactionRemoved{SessionID: groupID, MessageID: msgID(1), Seq: 1, UserID: "nobody", Emoji: "b"},
		(*events.MessageEdited)(nil),
		(*events.ReactionAdded)(nil),
		(*events.ReactionRemoved)(nil),
	)
	if s.Version != 10 {
		t.Fatalf("version = %d, want 10", s.Version)
	}
	if n, msgs := domain.LiveReactions(s); n != 1 || msgs != 1 {
		t.Fatalf("%d reactions on %d messages, want bob's one", n, msgs)
	}
}
