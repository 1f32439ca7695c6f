package domain_test

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/tellyou/tellyou/domain"
	"github.com/tellyou/tellyou/events"
)

func TestDecideSendRefuses(t *testing.T) {
	t.Parallel()
	p := domain.DefaultPolicy()
	group := groupSession(t, p, "alice", "bob")
	direct := directSession(t, p, "alice", "bob")
	missingDirect := domain.NewSession("d:alice:carol", p)
	missingGroup := domain.NewSession(groupID, p)

	tests := []struct {
		name   string
		state  *domain.Session
		change func(*domain.SendCommand)
		kind   domain.ErrorKind
	}{
		{"invalid sender", group, func(c *domain.SendCommand) { c.SenderID = "al ice" }, domain.KindInvalid},
		{"empty sender", group, func(c *domain.SendCommand) { c.SenderID = "" }, domain.KindInvalid},
		{"no client message id", group, func(c *domain.SendCommand) { c.ClientMessageID = "" }, domain.KindInvalid},
		{"client message id too long", group, func(c *domain.SendCommand) { c.ClientMessageID = strings.Repeat("c", 65) }, domain.KindInvalid},
		{"client message id too many runes", group, func(c *domain.SendCommand) { c.ClientMessageID = strings.Repeat("é", 65) }, domain.KindInvalid},
		{"message id not a uuid", group, func(c *domain.SendCommand) { c.MessageID = "m1" }, domain.KindInvalid},
		{"message id not canonical", group, func(c *domain.SendCommand) { c.MessageID = strings.ToUpper(c.MessageID) }, domain.KindInvalid},
		{"message type zero", group, func(c *domain.SendCommand) { c.MessageType = 0 }, domain.KindInvalid},
		{"message type negative", group, func(c *domain.SendCommand) { c.MessageType = -1 }, domain.KindInvalid},
		{"empty content", group, func(c *domain.SendCommand) { c.Content = "" }, domain.KindInvalid},
		{"content too long", group, func(c *domain.SendCommand) { c.Content = strings.Repeat("x", p.MaxContentBytes+1) }, domain.KindTooLarge},
		{"content with NUL", group, func(c *domain.SendCommand) { c.Content = "a\x00b" }, domain.KindInvalid},
		{"client message id with NUL", group, func(c *domain.SendCommand) { c.ClientMessageID = "c\x00" }, domain.KindInvalid},
		{"content not UTF-8", group, func(c *domain.SendCommand) { c.Content = "a\xffb" }, domain.KindInvalid},
		{"ext an array", group, func(c *domain.SendCommand) { c.Ext = json.RawMessage(`[1]`) }, domain.KindInvalid},
		{"ext a string", group, func(c *domain.SendCommand) { c.Ext = json.RawMessage(`"x"`) }, domain.KindInvalid},
		{"ext malformed", group, func(c *domain.SendCommand) { c.Ext = json.RawMessage(`{"a":`) }, domain.KindInvalid},
		{"ext trailing data", group, func(c *domain.SendCommand) { c.Ext = json.RawMessage(`{} {}`) }, domain.KindInvalid},
		{"ext too long", group, func(c *domain.SendCommand) {
			c.Ext = json.RawMessage(`{"a":"` + strings.Repeat("x", p.MaxExtBytes) + `"}`)
		}, domain.KindTooLarge},
		{"command for another session", group, func(c *domain.SendCommand) { c.SessionID = "d:alice:bob" }, domain.KindInvalid},
		{"missing group", missingGroup, func(*domain.SendCommand) {}, domain.KindNotFound},
		{"missing group with create direct", missingGroup, func(c *domain.SendCommand) { c.CreateDirect = true }, domain.KindNotFound},
		{"missing direct named by session id", missingDirect, func(*domain.SendCommand) {}, domain.KindNotFound},
		{"missing direct of other users", missingDirect, func(c *domain.SendCommand) { c.SenderID = "bob"; c.CreateDirect = true }, domain.KindNotFound},
		{"group non-member", group, func(c *domain.SendCommand) { c.SenderID = "carol" }, domain.KindForbidden},
		{"direct non-member", direct, func(c *domain.SendCommand) { c.SenderID = "carol" }, domain.KindForbidden},
		{"direct non-member with create direct", direct, func(c *domain.SendCommand) { c.SenderID = "carol"; c.CreateDirect = true }, domain.KindForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cmd := sendCmd(tt.state, "alice", "c-refused", t0+1000)
			tt.change(&cmd)
			res, evs, err := domain.DecideSend(tt.state, p, cmd)
			wantKind(t, err, tt.kind)
			if evs != nil || res != (domain.SendResult{}) {
				t.Errorf("refused send gave %+v, %v", res, evs)
			}
		})
	}
}

func TestDecideSendAccepts(t *testing.T) {
	t.Parallel()
	p := domain.DefaultPolicy()
	group := groupSession(t, p, "alice", "bob")
	tests := []struct {
		name    string
		change  func(*domain.SendCommand)
		wantExt json.RawMessage
	}{
		{"plain text", func(*domain.SendCommand) {}, nil},
		{"content at the limit", func(c *domain.SendCommand) { c.Content = strings.Repeat("x", p.MaxContentBytes) }, nil},
		{"client message id at the limit", func(c *domain.SendCommand) { c.ClientMessageID = strings.Repeat("c", 64) }, nil},
		{"multi-byte client message id at the limit", func(c *domain.SendCommand) { c.ClientMessageID = strings.Repeat("é", 64) }, nil},
		{"other message type", func(c *domain.SendCommand) { c.MessageType = 7 }, nil},
		{"ext object", func(c *domain.SendCommand) { c.Ext = json.RawMessage(`{"mention":["bob"]}`) }, json.RawMessage(`{"mention":["bob"]}`)},
		{"ext with spaces around", func(c *domain.SendCommand) { c.Ext = json.RawMessage(" {}\n") }, json.RawMessage(`{}`)},
		{"ext null", func(c *domain.SendCommand) { c.Ext = json.RawMessage(`null`) }, nil},
		{"ext blank", func(c *domain.SendCommand) { c.Ext = json.RawMessage("  ") }, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cmd := sendCmd(group, "bob", "c1", t0+5000)
			cmd.ClientTimestamp = t0 + 4000
			tt.change(&cmd)
			res, evs, err := domain.DecideSend(group, p, cmd)
			if err != nil {
				t.Fatalf("DecideSend: %v", err)
			}
			want := events.MessageSent{
				SessionID: groupID, MessageID: cmd.MessageID, Seq: 1, SenderID: "bob",
				MessageType: cmd.MessageType, Content: cmd.Content, Ext: tt.wantExt,
				ClientMessageID: cmd.ClientMessageID, ClientTimestamp: t0 + 4000,
				ServerTimestamp: t0 + 5000, AdjustedTimestamp: t0 + 4000,
			}
			if len(evs) != 1 || !reflect.DeepEqual(evs[0], want) {
				t.Fatalf("events = %#v, want [%#v]", evs, want)
			}
			wantRes := domain.SendResult{MessageID: cmd.MessageID, Seq: 1, ServerTimestamp: t0 + 5000, AdjustedTimestamp: t0 + 4000}
			if res != wantRes {
				t.Errorf("result = %+v, want %+v", res, wantRes)
			}
		})
	}
}

func TestDecideSendDoesNotAliasExt(t *testing.T) {
	t.Parallel()
	p := domain.DefaultPolicy()
	s := groupSession(t, p, "alice")
	cmd := sendCmd(s, "alice", "c1", t0)
	cmd.Ext = json.RawMessage(`{"a":1}`)
	_, evs, err := domain.DecideSend(s, p, cmd)
	if err != nil {
		t.Fatal(err)
	}
	cmd.Ext[5] = '2'
	if got := string(evs[0].(events.MessageSent).Ext); got != `{"a":1}` {
		t.Errorf("event ext changed with the command's buffer: %s", got)
	}
}

func TestDecideSendAdjustsTimestamp(t *testing.T) {
	t.Parallel()
	p := domain.DefaultPolicy()
	s := groupSession(t, p, "alice")
	tests := []struct {
		name   string
		client int64
		want   int64
	}{
		{"within skew", t0 - 59_000, t0 - 59_000},
		{"past skew", t0 - 61_000, t0},
		{"absent", 0, t0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cmd := sendCmd(s, "alice", "c1", t0)
			cmd.ClientTimestamp = tt.client
			res, _, err := domain.DecideSend(s, p, cmd)
			if err != nil {
				t.Fatal(err)
			}
			if res.AdjustedTimestamp != tt.want || res.ServerTimestamp != t0 {
				t.Errorf("timestamps = %d, %d; want server %d, adjusted %d", res.ServerTimestamp, res.AdjustedTimestamp, t0, tt.want)
			}
		})
	}
}

func TestDecideSendCreatesDirectSession(t *testing.T) {
	t.Parallel()
	p := domain.DefaultPolicy()
	tests := []struct {
		name, sender, peer string
	}{
		{"sender first in byte order", "alice", "bob"},
		{"sender second in byte order", "bob", "alice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			id, err := domain.DirectSessionID(tt.sender, tt.peer)
			if err != nil {
				t.Fatal(err)
			}
			s := domain.NewSession(id, p)
			cmd := sendCmd(s, tt.sender, "c1", t0)
			cmd.CreateDirect = true
			res, evs, err := domain.DecideSend(s, p, cmd)
			if err != nil {
				t.Fatalf("DecideSend: %v", err)
			}
			if len(evs) != 2 {
				t.Fatalf("events = %#v, want SessionCreated and MessageSent", evs)
			}
			wantCreated := events.SessionCreated{SessionID: "d:alice:bob", Kind: events.KindDirect, Members: []string{"alice", "bob"}, CreatedAt: t0}
			if !reflect.DeepEqual(evs[0], wantCreated) {
				t.Errorf("first event = %#v, want %#v", evs[0], wantCreated)
			}
			sent, ok := evs[1].(events.MessageSent)
			if !ok || sent.Seq != 1 || sent.SenderID != tt.sender || res.Seq != 1 {
				t.Errorf("second event = %#v, result %+v", evs[1], res)
			}

			applyAll(s, evs...)
			if !s.Exists() || s.Kind != events.KindDirect || s.Version != 2 || s.LastSeq != 1 {
				t.Fatalf("state after the first message = %+v", s)
			}
			// The session now exists: the peer answers without creating it again.
			reply := sendCmd(s, tt.peer, "r1", t0+1)
			reply.CreateDirect = true
			res, evs, err = domain.DecideSend(s, p, reply)
			if err != nil || len(evs) != 1 || res.Seq != 2 {
				t.Fatalf("reply = %+v, %#v, %v; want seq 2 and one event", res, evs, err)
			}
		})
	}
}

func TestDecideSendSeqIsContiguous(t *testing.T) {
	t.Parallel()
	p := domain.DefaultPolicy()
	s := groupSession(t, p, "alice", "bob", "carol")
	senders := []string{"alice", "bob", "carol"}
	const n = 500
	for i := 1; i <= n; i++ {
		sender := senders[i%len(senders)]
		res := mustSend(t, s, p, sendCmd(s, sender, msgID(i), t0+int64(i)))
		if res.Seq != int64(i) || res.Duplicate {
			t.Fatalf("send %d got %+v", i, res)
		}
	}
	if s.LastSeq != n || s.Version != n+1 {
		t.Fatalf("LastSeq, Version = %d, %d; want %d, %d", s.LastSeq, s.Version, n, n+1)
	}
}

func TestDecideSendDuplicate(t *testing.T) {
	t.Parallel()
	p := domain.DefaultPolicy()
	s := groupSession(t, p, "alice", "bob")
	orig := mustSend(t, s, p, sendCmd(s, "alice", "dup", t0))
	for i := range 20 {
		mustSend(t, s, p, sendCmd(s, "bob", msgID(i), t0+int64(i+1)*1000))
	}

	tests := []struct {
		name   string
		change func(*domain.SendCommand)
		dup    bool
	}{
		{"retry", func(*domain.SendCommand) {}, true},
		{"retry with other content and time", func(c *domain.SendCommand) { c.Content = "changed"; c.ClientTimestamp = 1 }, true},
		{"retry with a fresh message id", func(c *domain.SendCommand) { c.MessageID = msgID(999) }, true},
		{"same client id from another sender", func(c *domain.SendCommand) { c.SenderID = "bob" }, false},
		{"other client id", func(c *domain.SendCommand) { c.ClientMessageID = "dup2" }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cmd := sendCmd(s, "alice", "dup", t0+60_000)
			tt.change(&cmd)
			res, evs, err := domain.DecideSend(s, p, cmd)
			if err != nil {
				t.Fatal(err)
			}
			if !tt.dup {
				if res.Duplicate || res.Seq != 22 || len(evs) != 1 {
					t.Fatalf("got %+v, %d events; want a new message at seq 22", res, len(evs))
				}
				return
			}
			want := orig
			want.Duplicate = true
			if res != want || evs != nil {
				t.Fatalf("got %+v, %v; want %+v and no events", res, evs, want)
			}
		})
	}
}

func TestDecideSendDuplicateOfRecalledMessage(t *testing.T) {
	t.Parallel()
	p := domain.DefaultPolicy()
	s := groupSession(t, p, "alice", "bob")
	orig := mustSend(t, s, p, sendCmd(s, "alice", "c1", t0))
	evs, err := domain.DecideRecall(s, p, domain.RecallCommand{UserID: "alice", SessionID: groupID, MessageID: orig.MessageID, Now: t0 + 1})
	if err != nil {
		t.Fatal(err)
	}
	applyAll(s, evs...)
	res, evs, err := domain.DecideSend(s, p, sendCmd(s, "alice", "c1", t0+2))
	if err != nil || !res.Duplicate || res.MessageID != orig.MessageID || evs != nil {
		t.Fatalf("got %+v, %v, %v; want the original", res, evs, err)
	}
}

func TestDecideSendDoesNotChangeState(t *testing.T) {
	t.Parallel()
	p := domain.DefaultPolicy()
	s := domain.NewSession("d:alice:bob", p)
	before := s.Clone()
	cmd := sendCmd(s, "alice", "c1", t0)
	cmd.CreateDirect = true
	if _, _, err := domain.DecideSend(s, p, cmd); err != nil {
		t.Fatal(err)
	}
	if s.Exists() || s.Version != before.Version || s.LastSeq != 0 || len(s.Members) != 0 {
		t.Fatalf("DecideSend changed the state: %+v", s)
	}
	// Deciding the same command again gives the same events.
	_, a, _ := domain.DecideSend(s, p, cmd)
	_, b, _ := domain.DecideSend(s, p, cmd)
	if !reflect.DeepEqual(a, b) {
		t.Fatalf("two decisions differ: %#v vs %#v", a, b)
	}
}
