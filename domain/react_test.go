package domain_test

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/tellyou/tellyou/domain"
	"github.com/tellyou/tellyou/events"
)

// react decides a reaction and applies its events.
func react(t *testing.T, s *domain.Session, p domain.Policy, cmd domain.ReactCommand) []events.Payload {
	t.Helper()
	evs, err := domain.DecideReact(s, p, cmd)
	if err != nil {
		t.Fatalf("react %q (remove %v): %v", cmd.Emoji, cmd.Remove, err)
	}
	applyAll(s, evs...)
	return evs
}

func TestDecideReact(t *testing.T) {
	t.Parallel()
	p := domain.DefaultPolicy()
	s := groupSession(t, p, "alice", "bob", "carol")
	m := mustSend(t, s, p, sendCmd(s, "alice", "c1", t0))
	recalled := mustSend(t, s, p, sendCmd(s, "alice", "c2", t0+1000))
	evs, err := domain.DecideRecall(s, p, domain.RecallCommand{UserID: "alice", SessionID: groupID, MessageID: recalled.MessageID, Now: t0 + 2000})
	if err != nil {
		t.Fatal(err)
	}
	applyAll(s, evs...)
	applyAll(s, events.MembersRemoved{SessionID: groupID, Members: []string{"carol"}, By: "alice"})
	cmd := func(user, id, emoji string, remove bool) domain.ReactCommand {
		return domain.ReactCommand{UserID: user, SessionID: groupID, MessageID: id, Emoji: emoji, Remove: remove, Now: t0 + 5000}
	}

	// bob reacts: one event; again: nothing.
	want := []events.Payload{events.ReactionAdded{SessionID: groupID, MessageID: m.MessageID, Seq: 1, UserID: "bob", Emoji: "👍", At: t0 + 5000}}
	if got := react(t, s, p, cmd("bob", m.MessageID, "👍", false)); !reflect.DeepEqual(got, want) {
		t.Fatalf("add = %+v, want %+v", got, want)
	}
	if got := react(t, s, p, cmd("bob", m.MessageID, "👍", false)); got != nil {
		t.Fatalf("repeated add = %+v, want nothing", got)
	}
	// The sender may react to her own message, with the same emoji.
	if got := react(t, s, p, cmd("alice", m.MessageID, "👍", false)); len(got) != 1 {
		t.Fatalf("second user's add = %+v", got)
	}
	if got := react(t, s, p, cmd("alice", m.MessageID, "🎉", true)); got != nil {
		t.Fatalf("remove of an absent reaction = %+v, want nothing", got)
	}
	wantRemoved := []events.Payload{events.ReactionRemoved{SessionID: groupID, MessageID: m.MessageID, Seq: 1, UserID: "bob", Emoji: "👍", At: t0 + 5000}}
	if got := react(t, s, p, cmd("bob", m.MessageID, "👍", true)); !reflect.DeepEqual(got, wantRemoved) {
		t.Fatalf("remove = %+v, want %+v", got, wantRemoved)
	}
	if got := react(t, s, p, cmd("bob", m.MessageID, "👍", true)); got != nil {
		t.Fatalf("repeated remove = %+v, want nothing", got)
	}
	if n, msgs := domain.LiveReactions(s); n != 1 || msgs != 1 {
		t.Fatalf("live reactions = %d on %d messages, want alice's one", n, msgs)
	}

	wrongSession := cmd("bob", m.MessageID, "👍", false)
	wrongSession.SessionID = "d:alice:bob"
	refusals := []struct {
		name string
		cmd  domain.ReactCommand
		kind domain.ErrorKind
	}{
		{"empty emoji", cmd("bob", m.MessageID, "", false), domain.KindInvalid},
		{"emoji over the limit", cmd("bob", m.MessageID, strings.Repeat("a", p.MaxEmojiBytes+1), false), domain.KindInvalid},
		{"emoji with a control character", cmd("bob", m.MessageID, "a\nb", false), domain.KindInvalid},
		{"emoji not UTF-8", cmd("bob", m.MessageID, "\xff", false), domain.KindInvalid},
		{"former member", cmd("carol", m.MessageID, "👍", false), domain.KindForbidden},
		{"stranger", cmd("dave", m.MessageID, "👍", false), domain.KindForbidden},
		{"recalled message", cmd("bob", recalled.MessageID, "👍", false), domain.KindForbidden},
		{"removal on a recalled message", cmd("bob", recalled.MessageID, "👍", true), domain.KindForbidden},
		{"unknown message", cmd("bob", msgID(77), "👍", false), domain.KindNotFound},
		{"another session", wrongSession, domain.KindInvalid},
	}
	for _, tt := range refusals {
		evs, err := domain.DecideReact(s, p, tt.cmd)
		if evs != nil {
			t.Errorf("%s: events %+v", tt.name, evs)
		}
		wantKind(t, err, tt.kind)
	}
	if evs, err := domain.DecideReact(s, p, cmd("bob", m.MessageID, strings.Repeat("a", p.MaxEmojiBytes), false)); err != nil || len(evs) != 1 {
		t.Fatalf("emoji at the limit = %v, %v", evs, err)
	}
	if _, err := domain.DecideReact(s, p, cmd("bob", msgID(77), "👍", false)); !errors.Is(err, domain.ErrUnknownMessage) {
		t.Fatalf("unknown message = %v, want ErrUnknownMessage", err)
	}
}

// TestReactionEmojiLimit fills a message with the most distinct emojis: a new
// one is refused, more users of one already there are not, and a removal
// makes room.
func TestReactionEmojiLimit(t *testing.T) {
	t.Parallel()
	p := domain.DefaultPolicy()
	s := groupSession(t, p, "alice", "bob")
	m := mustSend(t, s, p, sendCmd(s, "alice", "c1", t0))
	cmd := func(user, emoji string, remove bool) domain.ReactCommand {
		return domain.ReactCommand{UserID: user, SessionID: groupID, MessageID: m.MessageID, Emoji: emoji, Remove: remove, Now: t0}
	}
	for i := range p.MaxReactionEmojis {
		react(t, s, p, cmd([]string{"alice", "bob"}[i%2], fmt.Sprint("e", i), false))
	}
	_, err := domain.DecideReact(s, p, cmd("alice", "one too many", false))
	wantKind(t, err, domain.KindInvalid)
	if got := react(t, s, p, cmd("alice", "e1", false)); len(got) != 1 {
		t.Fatalf("another user of an emoji already there = %+v", got)
	}
	react(t, s, p, cmd("bob", "e1", true))
	if _, err := domain.DecideReact(s, p, cmd("alice", "one too many", false)); err == nil {
		t.Fatal("e1 still has alice's reaction: no room yet")
	}
	react(t, s, p, cmd("alice", "e1", true))
	if got := react(t, s, p, cmd("alice", "now it fits", false)); len(got) != 1 {
		t.Fatalf("add after a removal made room = %+v", got)
	}
}

// TestRecallDropsReactions: a recalled message's reactions are gone from the
// state, on replay too.
func TestRecallDropsReactions(t *testing.T) {
	t.Parallel()
	p := domain.DefaultPolicy()
	s := groupSession(t, p, "alice", "bob")
	created := s.Clone()
	m := mustSend(t, s, p, sendCmd(s, "alice", "c1", t0))
	kept := mustSend(t, s, p, sendCmd(s, "alice", "c2", t0))
	var log []events.Payload
	for _, id := range []string{m.MessageID, kept.MessageID} {
		for _, u := range []string{"alice", "bob"} {
			log = append(log, react(t, s, p, domain.ReactCommand{UserID: u, SessionID: groupID, MessageID: id, Emoji: "👍", Now: t0})...)
		}
	}
	evs, err := domain.DecideRecall(s, p, domain.RecallCommand{UserID: "alice", SessionID: groupID, MessageID: m.MessageID, Now: t0 + 1})
	if err != nil {
		t.Fatal(err)
	}
	applyAll(s, evs...)
	if n, msgs := domain.LiveReactions(s); n != 2 || msgs != 1 {
		t.Fatalf("after the recall: %d reactions on %d messages, want 2 on 1", n, msgs)
	}

	// A replay from the creation gives the same state.
	replay := created
	applyAll(replay, events.MessageSent{SessionID: groupID, MessageID: m.MessageID, Seq: 1, SenderID: "alice", ClientMessageID: "c1", ServerTimestamp: t0},
		events.MessageSent{SessionID: groupID, MessageID: kept.MessageID, Seq: 2, SenderID: "alice", ClientMessageID: "c2", ServerTimestamp: t0})
	for _, e := range log {
		e := e.(events.ReactionAdded)
		applyAll(replay, &e) // pointers, as some callers hand them
	}
	applyAll(replay, evs...)
	if n, msgs := domain.LiveReactions(replay); n != 2 || msgs != 1 {
		t.Fatalf("replay: %d reactions on %d messages, want 2 on 1", n, msgs)
	}
	if got := react(t, replay, p, domain.ReactCommand{UserID: "bob", SessionID: groupID, MessageID: kept.MessageID, Emoji: "👍", Now: t0}); got != nil {
		t.Fatalf("replayed state lost bob's reaction: add = %+v", got)
	}
}

// TestReactionsOnOldMessages: reactions live on after their message left
// the state's retention, and a message found in the history is decided like
// a recent one.
func TestReactionsOnOldMessages(t *testing.T) {
	t.Parallel()
	p := domain.DefaultPolicy()
	s := groupSession(t, p, "alice", "bob")
	m := mustSend(t, s, p, sendCmd(s, "alice", "c1", t0))
	react(t, s, p, domain.ReactCommand{UserID: "bob", SessionID: groupID, MessageID: m.MessageID, Emoji: "👍", Now: t0})
	later := t0 + (25 * time.Hour).Milliseconds()
	mustSend(t, s, p, sendCmd(s, "bob", "c2", later))
	cmd := domain.ReactCommand{UserID: "bob", SessionID: groupID, MessageID: m.MessageID, Emoji: "👍", Now: later}
	if _, err := domain.DecideReact(s, p, cmd); !errors.Is(err, domain.ErrUnknownMessage) {
		t.Fatalf("reaction to a message the state forgot = %v, want ErrUnknownMessage", err)
	}
	cmd.Found = &domain.HistoryMessage{MessageID: m.MessageID, Seq: 1, SenderID: "alice", ServerTimestamp: t0}
	if evs, err := domain.DecideReact(s, p, cmd); err != nil || evs != nil {
		t.Fatalf("repeated reaction to an old message = %v, %v; want nothing", evs, err)
	}
	cmd.Remove = true
	evs, err := domain.DecideReact(s, p, cmd)
	if err != nil || len(evs) != 1 || evs[0].(events.ReactionRemoved).Seq != 1 {
		t.Fatalf("removal from an old message = %v, %v", evs, err)
	}
	cmd.Found.Recalled = true
	_, err = domain.DecideReact(s, p, cmd)
	wantKind(t, err, domain.KindForbidden)
}

// TestCloneCopiesReactions: a clone's reactions go their own way.
func TestCloneCopiesReactions(t *testing.T) {
	t.Parallel()
	p := domain.DefaultPolicy()
	s := groupSession(t, p, "alice", "bob")
	m := mustSend(t, s, p, sendCmd(s, "alice", "c1", t0))
	cmd := domain.ReactCommand{UserID: "bob", SessionID: groupID, MessageID: m.MessageID, Emoji: "👍", Now: t0}
	react(t, s, p, cmd)
	c := s.Clone()
	cmd.UserID = "alice"
	react(t, c, p, cmd)
	if n, _ := domain.LiveReactions(s); n != 1 {
		t.Fatalf("original holds %d reactions after the clone got one more, want 1", n)
	}
	cmd.UserID, cmd.Remove = "bob", true
	react(t, s, p, cmd)
	if n, _ := domain.LiveReactions(c); n != 2 {
		t.Fatalf("clone holds %d reactions after the original lost one, want 2", n)
	}
}
