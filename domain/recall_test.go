package domain_test

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/tellyou/tellyou/domain"
	"github.com/tellyou/tellyou/events"
)

func TestDecideRecall(t *testing.T) {
	t.Parallel()
	p := domain.DefaultPolicy()
	window := p.RecallWindow.Milliseconds()
	s := groupSession(t, p, "alice", "bob", "carol")
	mine := mustSend(t, s, p, sendCmd(s, "alice", "c1", t0))
	recalled := mustSend(t, s, p, sendCmd(s, "alice", "c2", t0+1000))
	evs, err := domain.DecideRecall(s, p, domain.RecallCommand{UserID: "alice", SessionID: groupID, MessageID: recalled.MessageID, Now: t0 + 2000})
	if err != nil {
		t.Fatal(err)
	}
	applyAll(s, evs...)
	applyAll(s, events.MembersRemoved{SessionID: groupID, Members: []string{"carol"}, By: "alice"})

	cmd := func(user, id string, now int64) domain.RecallCommand {
		return domain.RecallCommand{UserID: user, SessionID: groupID, MessageID: id, Now: now}
	}
	want := []events.Payload{events.MessageRecalled{SessionID: groupID, MessageID: mine.MessageID, Seq: 1, By: "alice", RecalledAt: t0 + 5000}}
	atLimit := []events.Payload{events.MessageRecalled{SessionID: groupID, MessageID: mine.MessageID, Seq: 1, By: "alice", RecalledAt: t0 + window}}

	tests := []struct {
		name  string
		state *domain.Session
		cmd   domain.RecallCommand
		want  []events.Payload
		kind  domain.ErrorKind
	}{
		{"sender within the window", s, cmd("alice", mine.MessageID, t0+5000), want, 0},
		{"at the end of the window", s, cmd("alice", mine.MessageID, t0+window), atLimit, 0},
		{"after the window", s, cmd("alice", mine.MessageID, t0+window+1), nil, domain.KindForbidden},
		{"not the sender", s, cmd("bob", mine.MessageID, t0+5000), nil, domain.KindForbidden},
		{"removed member", s, cmd("carol", mine.MessageID, t0+5000), nil, domain.KindForbidden},
		{"never a member", s, cmd("dave", mine.MessageID, t0+5000), nil, domain.KindForbidden},
		{"already recalled", s, cmd("alice", recalled.MessageID, t0+5000), nil, 0},
		{"already recalled, after the window", s, cmd("alice", recalled.MessageID, t0+time.Hour.Milliseconds()), nil, 0},
		{"already recalled, not the sender", s, cmd("bob", recalled.MessageID, t0+5000), nil, domain.KindForbidden},
		{"unknown message", s, cmd("alice", msgID(12345), t0+5000), nil, domain.KindNotFound},
		{"empty message id", s, cmd("alice", "", t0+5000), nil, domain.KindNotFound},
		{"missing session", domain.NewSession(groupID, p), cmd("alice", mine.MessageID, t0+5000), nil, domain.KindNotFound},
		{"command for another session", s, domain.RecallCommand{UserID: "alice", SessionID: "d:alice:bob", MessageID: mine.MessageID, Now: t0}, nil, domain.KindInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := domain.DecideRecall(tt.state, p, tt.cmd)
			wantKind(t, err, tt.kind)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("events = %#v, want %#v", got, tt.want)
			}
		})
	}
}

func TestDecideRecallUnknownMessageIsSentinel(t *testing.T) {
	t.Parallel()
	p := domain.DefaultPolicy()
	s := groupSession(t, p, "alice")
	_, err := domain.DecideRecall(s, p, domain.RecallCommand{UserID: "alice", SessionID: groupID, MessageID: msgID(1), Now: t0})
	if !errors.Is(err, domain.ErrUnknownMessage) || !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("error = %v, want ErrUnknownMessage", err)
	}
}

func TestDecideRecallRoundTrip(t *testing.T) {
	t.Parallel()
	p := domain.DefaultPolicy()
	s := directSession(t, p, "alice", "bob")
	res := mustSend(t, s, p, sendCmd(s, "bob", "c1", t0+10))
	recall := domain.RecallCommand{UserID: "bob", SessionID: s.ID, MessageID: res.MessageID, Now: t0 + 20}
	evs, err := domain.DecideRecall(s, p, recall)
	if err != nil || len(evs) != 1 {
		t.Fatalf("recall = %v, %v", evs, err)
	}
	applyAll(s, evs...)
	if evs, err := domain.DecideRecall(s, p, recall); err != nil || evs != nil {
		t.Fatalf("second recall = %v, %v; want nothing", evs, err)
	}
	if s.LastSeq != 2 || s.Version != 4 {
		t.Fatalf("LastSeq, Version = %d, %d; want 2, 4", s.LastSeq, s.Version)
	}
}
