package domain_test

import (
	"reflect"
	"testing"

	"github.com/tellyou/tellyou/domain"
	"github.com/tellyou/tellyou/events"
)

func TestDecideAck(t *testing.T) {
	t.Parallel()
	p := domain.DefaultPolicy()
	// alice and bob in a group with 10 messages; bob has received up to 6 and
	// read up to 4.
	s := groupSession(t, p, "alice", "bob")
	for i := 1; i <= 10; i++ {
		mustSend(t, s, p, sendCmd(s, "alice", msgID(i), t0+int64(i)))
	}
	applyAll(s,
		events.MessagesReceived{SessionID: groupID, UserID: "bob", UpToSeq: 6},
		events.MessagesRead{SessionID: groupID, UserID: "bob", UpToSeq: 4},
	)
	received := func(seq int64) events.Payload {
		return events.MessagesReceived{SessionID: groupID, UserID: "bob", UpToSeq: seq}
	}
	read := func(seq int64) events.Payload {
		return events.MessagesRead{SessionID: groupID, UserID: "bob", UpToSeq: seq}
	}

	tests := []struct {
		name  string
		state *domain.Session
		cmd   domain.AckCommand
		want  []events.Payload
		kind  domain.ErrorKind
	}{
		{"received forward", s, domain.AckCommand{UserID: "bob", SessionID: groupID, Seq: 8, AckType: domain.AckReceived}, []events.Payload{received(8)}, 0},
		{"received to the last", s, domain.AckCommand{UserID: "bob", SessionID: groupID, Seq: 10, AckType: domain.AckReceived}, []events.Payload{received(10)}, 0},
		{"received at watermark", s, domain.AckCommand{UserID: "bob", SessionID: groupID, Seq: 6, AckType: domain.AckReceived}, nil, 0},
		{"received below watermark", s, domain.AckCommand{UserID: "bob", SessionID: groupID, Seq: 2, AckType: domain.AckReceived}, nil, 0},
		{"received zero", s, domain.AckCommand{UserID: "bob", SessionID: groupID, Seq: 0, AckType: domain.AckReceived}, nil, 0},
		{"read past received", s, domain.AckCommand{UserID: "bob", SessionID: groupID, Seq: 9, AckType: domain.AckRead}, []events.Payload{received(9), read(9)}, 0},
		{"read within received", s, domain.AckCommand{UserID: "bob", SessionID: groupID, Seq: 5, AckType: domain.AckRead}, []events.Payload{read(5)}, 0},
		{"read at received watermark", s, domain.AckCommand{UserID: "bob", SessionID: groupID, Seq: 6, AckType: domain.AckRead}, []events.Payload{read(6)}, 0},
		{"read at read watermark", s, domain.AckCommand{UserID: "bob", SessionID: groupID, Seq: 4, AckType: domain.AckRead}, nil, 0},
		{"read below read watermark", s, domain.AckCommand{UserID: "bob", SessionID: groupID, Seq: 1, AckType: domain.AckRead}, nil, 0},
		{"other member's watermarks are their own", s, domain.AckCommand{UserID: "alice", SessionID: groupID, Seq: 3, AckType: domain.AckRead}, []events.Payload{
			events.MessagesReceived{SessionID: groupID, UserID: "alice", UpToSeq: 3},
			events.MessagesRead{SessionID: groupID, UserID: "alice", UpToSeq: 3},
		}, 0},
		{"unknown ack type", s, domain.AckCommand{UserID: "bob", SessionID: groupID, Seq: 8, AckType: "seen"}, nil, domain.KindInvalid},
		{"empty ack type", s, domain.AckCommand{UserID: "bob", SessionID: groupID, Seq: 8}, nil, domain.KindInvalid},
		{"negative seq", s, domain.AckCommand{UserID: "bob", SessionID: groupID, Seq: -1, AckType: domain.AckRead}, nil, domain.KindInvalid},
		{"seq beyond the last message", s, domain.AckCommand{UserID: "bob", SessionID: groupID, Seq: 11, AckType: domain.AckReceived}, nil, domain.KindInvalid},
		{"non-member", s, domain.AckCommand{UserID: "carol", SessionID: groupID, Seq: 1, AckType: domain.AckRead}, nil, domain.KindForbidden},
		{"missing session", domain.NewSession("d:bob:carol", p), domain.AckCommand{UserID: "bob", SessionID: "d:bob:carol", Seq: 0, AckType: domain.AckRead}, nil, domain.KindNotFound},
		{"command for another session", s, domain.AckCommand{UserID: "bob", SessionID: "d:alice:bob", Seq: 8, AckType: domain.AckRead}, nil, domain.KindInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := domain.DecideAck(tt.state, tt.cmd)
			wantKind(t, err, tt.kind)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("events = %#v, want %#v", got, tt.want)
			}
		})
	}
}

func TestDecideAckRoundTrip(t *testing.T) {
	t.Parallel()
	p := domain.DefaultPolicy()
	s := directSession(t, p, "alice", "bob")
	mustSend(t, s, p, sendCmd(s, "alice", "c2", t0+1))
	mustSend(t, s, p, sendCmd(s, "alice", "c3", t0+2))

	evs, err := domain.DecideAck(s, domain.AckCommand{UserID: "bob", SessionID: s.ID, Seq: 2, AckType: domain.AckRead})
	if err != nil || len(evs) != 2 {
		t.Fatalf("first ack = %v, %v", evs, err)
	}
	applyAll(s, evs...)
	if m := s.Members["bob"]; m.ReceivedSeq != 2 || m.ReadSeq != 2 {
		t.Fatalf("bob = %+v, want both watermarks at 2", m)
	}
	// Repeating it changes nothing; going further moves on from there.
	if evs, err := domain.DecideAck(s, domain.AckCommand{UserID: "bob", SessionID: s.ID, Seq: 2, AckType: domain.AckRead}); err != nil || evs != nil {
		t.Fatalf("repeated ack = %v, %v; want nothing", evs, err)
	}
	evs, err = domain.DecideAck(s, domain.AckCommand{UserID: "bob", SessionID: s.ID, Seq: 3, AckType: domain.AckReceived})
	if err != nil || len(evs) != 1 {
		t.Fatalf("third ack = %v, %v", evs, err)
	}
	applyAll(s, evs...)
	if m := s.Members["bob"]; m.ReceivedSeq != 3 || m.ReadSeq != 2 {
		t.Fatalf("bob = %+v, want received 3, read 2", m)
	}
}
