package domain_test

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/tellyou/tellyou/domain"
	"github.com/tellyou/tellyou/events"
)

func TestDecideExpire(t *testing.T) {
	t.Parallel()
	p := domain.DefaultPolicy()
	// Five messages one second apart: seq 1..5 at t0, t0+1000, ... t0+4000.
	s := groupSession(t, p, "alice", "bob")
	for i := range 5 {
		mustSend(t, s, p, sendCmd(s, "alice", msgID(i+1), t0+int64(i)*1000))
	}
	expired := s.Clone()
	applyAll(expired, events.MessagesExpired{SessionID: groupID, UpToSeq: 3, Before: t0 + 2500})
	// seq 3 carries a server timestamp later than seq 4 (another node's clock).
	skewed := groupSession(t, p, "alice")
	for i, ts := range []int64{t0, t0 + 1000, t0 + 9000, t0 + 2000} {
		mustSend(t, skewed, p, sendCmd(skewed, "alice", msgID(i+1), ts))
	}

	cmd := func(s *domain.Session, upTo, before int64) domain.ExpireCommand {
		return domain.ExpireCommand{SessionID: s.ID, UpToSeq: upTo, Before: before}
	}
	want := func(upTo, before int64) []events.Payload {
		return []events.Payload{events.MessagesExpired{SessionID: groupID, UpToSeq: upTo, Before: before}}
	}
	tests := []struct {
		name  string
		state *domain.Session
		cmd   domain.ExpireCommand
		want  []events.Payload
		kind  domain.ErrorKind
	}{
		{"three due", s, cmd(s, 3, t0+2500), want(3, t0+2500), 0},
		{"cutoff is exclusive", s, cmd(s, 3, t0+2000), want(2, t0+2000), 0},
		{"caller asks too much", s, cmd(s, 5, t0+2500), want(3, t0+2500), 0},
		{"beyond the last seq", s, cmd(s, 99, t0+99_000), want(5, t0+99_000), 0},
		{"nothing due", s, cmd(s, 0, t0), nil, 0},
		{"cutoff before every message", s, cmd(s, 5, t0), nil, 0},
		{"already expired", expired, cmd(expired, 3, t0+2500), nil, 0},
		{"already expired, lower", expired, cmd(expired, 2, t0+2500), nil, 0},
		{"more after an expiry", expired, cmd(expired, 4, t0+3500), want(4, t0+3500), 0},
		{"never skips a later-stamped message", skewed, cmd(skewed, 4, t0+3000), want(2, t0+3000), 0},
		{"zero cutoff", s, cmd(s, 3, 0), nil, domain.KindInvalid},
		{"missing session", domain.NewSession(groupID, p), cmd(s, 3, t0), nil, domain.KindNotFound},
		{"command for another session", s, domain.ExpireCommand{SessionID: "d:a:b", UpToSeq: 1, Before: t0}, nil, domain.KindInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := domain.DecideExpire(tt.state, tt.cmd)
			wantKind(t, err, tt.kind)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("events = %#v, want %#v", got, tt.want)
			}
		})
	}
}

func TestExpireAppliesForwardOnly(t *testing.T) {
	t.Parallel()
	p := domain.DefaultPolicy()
	s := groupSession(t, p, "alice")
	applyAll(s, &events.MessagesExpired{SessionID: groupID, UpToSeq: 7, Before: t0},
		events.MessagesExpired{SessionID: groupID, UpToSeq: 4, Before: t0})
	if s.ExpiredSeq != 7 {
		t.Fatalf("ExpiredSeq = %d, want 7", s.ExpiredSeq)
	}
}

// TestExpiredMessagesLeaveTheDecisions: with windows longer than the
// retention, an expired message can no longer be recalled, edited, reacted
// to or replied to, while a repeated send is still answered.
func TestExpiredMessagesLeaveTheDecisions(t *testing.T) {
	t.Parallel()
	p := domain.DefaultPolicy()
	p.RecallWindow, p.EditWindow = 72*time.Hour, 72*time.Hour
	s := groupSession(t, p, "alice", "bob")
	old := mustSend(t, s, p, sendCmd(s, "alice", "old", t0))
	kept := mustSend(t, s, p, sendCmd(s, "alice", "kept", t0+1000))
	applyAll(s, events.MessagesExpired{SessionID: groupID, UpToSeq: old.Seq, Before: t0 + 1})
	now := t0 + 2000

	_, err := domain.DecideRecall(s, p, domain.RecallCommand{UserID: "alice", SessionID: groupID, MessageID: old.MessageID, Now: now})
	if !errors.Is(err, domain.ErrUnknownMessage) {
		t.Errorf("recall of an expired message: %v, want ErrUnknownMessage", err)
	}
	_, err = domain.DecideEdit(s, p, domain.EditCommand{UserID: "alice", SessionID: groupID, MessageID: old.MessageID, Content: "x", Now: now})
	if !errors.Is(err, domain.ErrUnknownMessage) {
		t.Errorf("edit of an expired message: %v, want ErrUnknownMessage", err)
	}
	_, err = domain.DecideReact(s, p, domain.ReactCommand{UserID: "bob", SessionID: groupID, MessageID: old.MessageID, Emoji: "👍", Now: now})
	if !errors.Is(err, domain.ErrUnknownMessage) {
		t.Errorf("reaction to an expired message: %v, want ErrUnknownMessage", err)
	}
	reply := sendCmd(s, "bob", "reply", now)
	reply.ReplyTo = old.MessageID
	if _, _, err := domain.DecideSend(s, p, reply); !errors.Is(err, domain.ErrUnknownReplyTo) {
		t.Errorf("reply to an expired message: %v, want ErrUnknownReplyTo", err)
	}
	// The message after the expiry is untouched; a repeated send of the
	// expired one is answered as before.
	if _, err := domain.DecideEdit(s, p, domain.EditCommand{UserID: "alice", SessionID: groupID, MessageID: kept.MessageID, Content: "x", Now: now}); err != nil {
		t.Errorf("edit of the kept message: %v", err)
	}
	res, evs, err := domain.DecideSend(s, p, sendCmd(s, "alice", "old", now))
	if err != nil || len(evs) != 0 || res.Seq != old.Seq {
		t.Errorf("repeated send of the expired message = %+v, %d events, %v; want the original answer", res, len(evs), err)
	}
}
