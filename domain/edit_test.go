package domain_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/tellyou/tellyou/domain"
	"github.com/tellyou/tellyou/events"
)

func TestDecideEdit(t *testing.T) {
	t.Parallel()
	p := domain.DefaultPolicy()
	window := p.EditWindow.Milliseconds()
	s := groupSession(t, p, "alice", "bob", "carol")
	mine := mustSend(t, s, p, sendCmd(s, "alice", "c1", t0))
	recalled := mustSend(t, s, p, sendCmd(s, "alice", "c2", t0+1000))
	evs, err := domain.DecideRecall(s, p, domain.RecallCommand{UserID: "alice", SessionID: groupID, MessageID: recalled.MessageID, Now: t0 + 2000})
	if err != nil {
		t.Fatal(err)
	}
	applyAll(s, evs...)
	applyAll(s, events.MembersRemoved{SessionID: groupID, Members: []string{"carol"}, By: "alice"})

	cmd := func(user, id, content string, now int64) domain.EditCommand {
		return domain.EditCommand{UserID: user, SessionID: groupID, MessageID: id, Content: content, Now: now}
	}
	edited := func(content string, at int64) []events.Payload {
		return []events.Payload{events.MessageEdited{SessionID: groupID, MessageID: mine.MessageID, Seq: 1, By: "alice", Content: content, EditedAt: at}}
	}
	wrongSession := cmd("alice", mine.MessageID, "x", t0)
	wrongSession.SessionID = "d:alice:bob"

	tests := []struct {
		name string
		cmd  domain.EditCommand
		want []events.Payload
		kind domain.ErrorKind
	}{
		{"sender within the window", cmd("alice", mine.MessageID, "fixed", t0+5000), edited("fixed", t0+5000), 0},
		{"at the end of the window", cmd("alice", mine.MessageID, "fixed", t0+window), edited("fixed", t0+window), 0},
		{"after the window", cmd("alice", mine.MessageID, "fixed", t0+window+1), nil, domain.KindForbidden},
		{"another member", cmd("bob", mine.MessageID, "fixed", t0+5000), nil, domain.KindForbidden},
		{"former member", cmd("carol", mine.MessageID, "fixed", t0+5000), nil, domain.KindForbidden},
		{"recalled message", cmd("alice", recalled.MessageID, "fixed", t0+5000), nil, domain.KindForbidden},
		{"unknown message", cmd("alice", msgID(77), "fixed", t0+5000), nil, domain.KindNotFound},
		{"empty content", cmd("alice", mine.MessageID, "", t0+5000), nil, domain.KindInvalid},
		{"content too long", cmd("alice", mine.MessageID, strings.Repeat("x", p.MaxContentBytes+1), t0+5000), nil, domain.KindTooLarge},
		{"content at the limit", cmd("alice", mine.MessageID, strings.Repeat("x", p.MaxContentBytes), t0+5000),
			edited(strings.Repeat("x", p.MaxContentBytes), t0+5000), 0},
		{"invalid UTF-8", cmd("alice", mine.MessageID, "\xff", t0+5000), nil, domain.KindInvalid},
		{"NUL", cmd("alice", mine.MessageID, "a\x00b", t0+5000), nil, domain.KindInvalid},
		{"another session", wrongSession, nil, domain.KindInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			evs, err := domain.DecideEdit(s.Clone(), p, tt.cmd)
			wantKind(t, err, tt.kind)
			if !reflect.DeepEqual(evs, tt.want) {
				t.Fatalf("events = %+v, want %+v", evs, tt.want)
			}
		})
	}

	t.Run("unknown message is ErrUnknownMessage", func(t *testing.T) {
		t.Parallel()
		_, err := domain.DecideEdit(s.Clone(), p, cmd("alice", msgID(77), "x", t0))
		if !errors.Is(err, domain.ErrUnknownMessage) {
			t.Fatalf("err = %v, want ErrUnknownMessage", err)
		}
	})
	t.Run("no session", func(t *testing.T) {
		t.Parallel()
		_, err := domain.DecideEdit(domain.NewSession(groupID, p), p, cmd("alice", mine.MessageID, "x", t0))
		wantKind(t, err, domain.KindNotFound)
	})
}

// TestEditOfAMessageTheStateNoLongerKeeps decides edits of a message that left
// the state, as the history found it: the same rules apply.
func TestEditOfAMessageTheStateNoLongerKeeps(t *testing.T) {
	t.Parallel()
	p := domain.DefaultPolicy()
	s := groupSession(t, p, "alice", "bob")
	old := mustSend(t, s, p, sendCmd(s, "alice", "old", t0))
	later := t0 + (p.EditWindow + 2*time.Minute).Milliseconds()
	mustSend(t, s, p, sendCmd(s, "bob", "newer", later))
	cmd := domain.EditCommand{UserID: "alice", SessionID: groupID, MessageID: old.MessageID, Content: "x", Now: later}
	if _, err := domain.DecideEdit(s, p, cmd); !errors.Is(err, domain.ErrUnknownMessage) {
		t.Fatalf("edit of a message the state forgot = %v, want ErrUnknownMessage", err)
	}
	found := &domain.HistoryMessage{MessageID: old.MessageID, Seq: 1, SenderID: "alice", ServerTimestamp: t0}
	cmd.Found = found
	_, err := domain.DecideEdit(s, p, cmd)
	wantKind(t, err, domain.KindForbidden) // past the window

	// A message found in the history is decided by its own timestamp: a node
	// far ahead may have stamped the newer message.
	cmd.Now = t0 + 1000
	evs, err := domain.DecideEdit(s, p, cmd)
	if err != nil || len(evs) != 1 || evs[0].(events.MessageEdited).Seq != 1 {
		t.Fatalf("edit within the window of a message found in the history = %v, %v", evs, err)
	}
	cmd.UserID = "bob"
	_, err = domain.DecideEdit(s, p, cmd)
	wantKind(t, err, domain.KindForbidden)
	cmd.UserID = "alice"
	recalled := *found
	recalled.Recalled = true
	cmd.Found = &recalled
	_, err = domain.DecideEdit(s, p, cmd)
	wantKind(t, err, domain.KindForbidden)
	// Found must be the message named.
	other := *found
	other.MessageID = msgID(5)
	cmd.Found = &other
	if _, err := domain.DecideEdit(s, p, cmd); !errors.Is(err, domain.ErrUnknownMessage) {
		t.Fatalf("edit with another message found = %v, want ErrUnknownMessage", err)
	}
}

// TestStateKeepsMessagesForTheEditWindow checks that the edit window, longer
// than the recall window, decides how long the state keeps messages by id.
func TestStateKeepsMessagesForTheEditWindow(t *testing.T) {
	t.Parallel()
	p := domain.DefaultPolicy()
	p.DedupWindow = time.Second
	s := groupSession(t, p, "alice", "bob")
	m := mustSend(t, s, p, sendCmd(s, "alice", "m", t0))
	kept := (p.EditWindow + time.Minute).Milliseconds()
	mustSend(t, s, p, sendCmd(s, "bob", "n1", t0+kept))
	edit := domain.EditCommand{UserID: "alice", SessionID: groupID, MessageID: m.MessageID, Content: "x", Now: t0 + p.EditWindow.Milliseconds()}
	if evs, err := domain.DecideEdit(s, p, edit); err != nil || len(evs) != 1 {
		t.Fatalf("edit at the end of the window, the edit window and a minute behind the newest = %v, %v", evs, err)
	}
	mustSend(t, s, p, sendCmd(s, "bob", "n2", t0+kept+1))
	if _, err := domain.DecideEdit(s, p, edit); !errors.Is(err, domain.ErrUnknownMessage) {
		t.Fatalf("edit once the state forgot the message = %v, want ErrUnknownMessage", err)
	}
}
