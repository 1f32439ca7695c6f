package domain_test

import (
	"slices"
	"testing"

	"github.com/tellyou/tellyou/domain"
	"github.com/tellyou/tellyou/events"
)

func TestNewSessionIsEmpty(t *testing.T) {
	t.Parallel()
	s := domain.NewSession(groupID, domain.DefaultPolicy())
	if s.Exists() || s.Version != 0 || s.LastSeq != 0 || len(s.Members) != 0 || s.ID != groupID {
		t.Fatalf("new session = %+v", s)
	}
	wantKind(t, s.CheckAccess("alice"), domain.KindNotFound)
}

func TestApplySessionCreated(t *testing.T) {
	t.Parallel()
	s := domain.NewSession(groupID, domain.DefaultPolicy())
	s.Apply(1, events.SessionCreated{
		SessionID: groupID, Kind: events.KindGroup, Title: "team", Owner: "bob",
		Members: []string{"alice", "bob", "carol"}, CreatedAt: t0,
	})
	if !s.Exists() || s.Kind != events.KindGroup || s.Title != "team" || s.Owner != "bob" || s.CreatedAt != t0 || s.Version != 1 {
		t.Fatalf("state = %+v", s)
	}
	if got, want := s.MemberIDs(), []string{"alice", "bob", "carol"}; !slices.Equal(got, want) {
		t.Fatalf("MemberIDs() = %v, want %v", got, want)
	}
	for _, m := range s.Members {
		if m.ReceivedSeq != 0 || m.ReadSeq != 0 {
			t.Errorf("member %+v has watermarks", m)
		}
	}
}

func TestCheckAccess(t *testing.T) {
	t.Parallel()
	s := groupSession(t, domain.DefaultPolicy(), "alice", "bob")
	tests := []struct {
		user string
		kind domain.ErrorKind
	}{
		{"alice", 0},
		{"bob", 0},
		{"carol", domain.KindForbidden},
		{"", domain.KindForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.user, func(t *testing.T) {
			t.Parallel()
			wantKind(t, s.CheckAccess(tt.user), tt.kind)
			if got := s.IsMember(tt.user); got != (tt.kind == 0) {
				t.Errorf("IsMember(%q) = %v", tt.user, got)
			}
		})
	}
}

func TestMemberIDsSorted(t *testing.T) {
	t.Parallel()
	s := groupSession(t, domain.DefaultPolicy(), "mallory", "zed", "Bob", "alice", "carol")
	if got, want := s.MemberIDs(), []string{"Bob", "alice", "carol", "mallory", "zed"}; !slices.Equal(got, want) {
		t.Errorf("MemberIDs() = %v, want %v", got, want)
	}
}

func TestApplyMembership(t *testing.T) {
	t.Parallel()
	created := events.SessionCreated{SessionID: groupID, Kind: events.KindGroup, Owner: "alice", Members: []string{"alice", "bob"}}
	tests := []struct {
		name   string
		events []events.Payload
		want   map[string][2]int64 // user -> received, read
	}{
		{
			name:   "added at seq",
			events: []events.Payload{created, events.MembersAdded{Members: []string{"carol"}, AtSeq: 7}},
			want:   map[string][2]int64{"alice": {0, 0}, "bob": {0, 0}, "carol": {7, 7}},
		},
		{
			name: "re-added current member keeps the higher watermarks",
			events: []events.Payload{created,
				events.MessagesReceived{UserID: "bob", UpToSeq: 9}, events.MessagesRead{UserID: "bob", UpToSeq: 3},
				events.MembersAdded{Members: []string{"bob"}, AtSeq: 5}},
			want: map[string][2]int64{"alice": {0, 0}, "bob": {9, 5}},
		},
		{
			name: "removed member forgets watermarks",
			events: []events.Payload{created,
				events.MessagesReceived{UserID: "bob", UpToSeq: 9}, events.MessagesRead{UserID: "bob", UpToSeq: 9},
				events.MembersRemoved{Members: []string{"bob"}},
				events.MembersAdded{Members: []string{"bob"}, AtSeq: 4}},
			want: map[string][2]int64{"alice": {0, 0}, "bob": {4, 4}},
		},
		{
			name:   "removed",
			events: []events.Payload{created, events.MembersRemoved{Members: []string{"bob", "nobody"}}},
			want:   map[string][2]int64{"alice": {0, 0}},
		},
		{
			name: "watermarks never move backwards",
			events: []events.Payload{created,
				events.MessagesReceived{UserID: "bob", UpToSeq: 8}, events.MessagesReceived{UserID: "bob", UpToSeq: 2},
				events.MessagesRead{UserID: "bob", UpToSeq: 6}, events.MessagesRead{UserID: "bob", UpToSeq: 1}},
			want: map[string][2]int64{"alice": {0, 0}, "bob": {8, 6}},
		},
		{
			name: "read does not move received",
			events: []events.Payload{created,
				events.MessagesRead{UserID: "alice", UpToSeq: 4}},
			want: map[string][2]int64{"alice": {0, 4}, "bob": {0, 0}},
		},
		{
			name: "watermarks of non-members are ignored",
			events: []events.Payload{created,
				events.MessagesReceived{UserID: "carol", UpToSeq: 8}, events.MessagesRead{UserID: "carol", UpToSeq: 8}},
			want: map[string][2]int64{"alice": {0, 0}, "bob": {0, 0}},
		},
		{
			name: "pointer payloads",
			events: []events.Payload{&created,
				&events.MembersAdded{Members: []string{"carol"}, AtSeq: 2},
				&events.MessagesReceived{UserID: "carol", UpToSeq: 3},
				&events.MessagesRead{UserID: "alice", UpToSeq: 1},
				&events.MembersRemoved{Members: []string{"bob"}}},
			want: map[string][2]int64{"alice": {0, 1}, "carol": {3, 2}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := domain.NewSession(groupID, domain.DefaultPolicy())
			applyAll(s, tt.events...)
			if s.Version != int64(len(tt.events)) {
				t.Errorf("Version = %d, want %d", s.Version, len(tt.events))
			}
			got := make(map[string][2]int64)
			for id, m := range s.Members {
				if m.UserID != id {
					t.Errorf("member %q has UserID %q", id, m.UserID)
				}
				got[id] = [2]int64{m.ReceivedSeq, m.ReadSeq}
			}
			if len(got) != len(tt.want) {
				t.Fatalf("members = %v, want %v", got, tt.want)
			}
			for id, w := range tt.want {
				if got[id] != w {
					t.Errorf("member %s (received, read) = %v, want %v", id, got[id], w)
				}
			}
		})
	}
}

func TestApplySetsVersionAndLastSeq(t *testing.T) {
	t.Parallel()
	s := groupSession(t, domain.DefaultPolicy(), "alice", "bob")
	s.Apply(41, events.MessageSent{SessionID: groupID, MessageID: msgID(1), Seq: 1, SenderID: "alice", ClientMessageID: "c1", ServerTimestamp: t0})
	if s.Version != 41 || s.LastSeq != 1 {
		t.Fatalf("Version, LastSeq = %d, %d; want 41, 1", s.Version, s.LastSeq)
	}
	s.Apply(42, nil)
	if s.Version != 42 || s.LastSeq != 1 {
		t.Fatalf("after an unknown payload: Version, LastSeq = %d, %d; want 42, 1", s.Version, s.LastSeq)
	}
}

func TestCloneIsIndependent(t *testing.T) {
	t.Parallel()
	p := domain.DefaultPolicy()
	s := groupSession(t, p, "alice", "bob")
	first := mustSend(t, s, p, sendCmd(s, "alice", "c1", t0))

	c := s.Clone()
	c.Members["bob"].ReadSeq = 99
	delete(c.Members, "alice")
	c.Title = "changed"
	applyAll(c, events.MessageRecalled{SessionID: groupID, MessageID: first.MessageID, Seq: 1, By: "alice", RecalledAt: t0})
	for i := range 200 { // enough to grow and compact the clone's queue
		cmd := sendCmd(c, "bob", "other"+msgID(i), t0+int64(i))
		mustSend(t, c, p, cmd)
	}

	if s.Members["bob"].ReadSeq != 0 || !s.IsMember("alice") || s.Title != "team" || s.LastSeq != 1 || s.Version != 2 {
		t.Fatalf("original changed through its clone: %+v", s)
	}
	// The original still holds the message as not recalled, and does not know
	// the clone's sends.
	evs, err := domain.DecideRecall(s, p, domain.RecallCommand{UserID: "alice", SessionID: groupID, MessageID: first.MessageID, Now: t0 + 1})
	if err != nil || len(evs) != 1 {
		t.Fatalf("recall on the original = %v, %v; want one event", evs, err)
	}
	res, _, err := domain.DecideSend(s, p, sendCmd(s, "bob", "other"+msgID(0), t0))
	if err != nil || res.Duplicate || res.Seq != 2 {
		t.Fatalf("send on the original = %+v, %v; want seq 2, not a duplicate", res, err)
	}

	// And the other way round: the clone does not see the original's changes.
	s.Members["bob"].ReceivedSeq = 1
	applyAll(s, events.MembersRemoved{SessionID: groupID, Members: []string{"bob"}})
	if c.Members["bob"] == nil || c.Members["bob"].ReceivedSeq != 0 {
		t.Fatalf("clone changed through the original: %+v", c.Members["bob"])
	}
}

func TestApplyMessagePointersAndOddPayloads(t *testing.T) {
	t.Parallel()
	p := domain.DefaultPolicy()
	// A zero Session (not made by NewSession) still applies events.
	s := &domain.Session{ID: groupID}
	applyAll(s,
		&events.SessionCreated{SessionID: groupID, Kind: events.KindGroup, Owner: "alice", Members: []string{"alice"}},
		&events.MessageSent{SessionID: groupID, MessageID: msgID(1), Seq: 1, SenderID: "alice", ClientMessageID: "c1", ServerTimestamp: t0},
		&events.MessageRecalled{SessionID: groupID, MessageID: msgID(1), Seq: 1, By: "alice", RecalledAt: t0},
		(*events.MessageSent)(nil),
		(*events.SessionCreated)(nil),
		(*events.MembersAdded)(nil),
		(*events.MembersRemoved)(nil),
		(*events.MessagesReceived)(nil),
		(*events.MessagesRead)(nil),
		(*events.MessageRecalled)(nil),
		events.MessageRecalled{SessionID: groupID, MessageID: msgID(99), Seq: 9, By: "alice"},
	)
	if s.Version != 11 || s.LastSeq != 1 || !s.IsMember("alice") {
		t.Fatalf("state = %+v", s)
	}
	// The message is known and recalled: a retry of its recall is a no-op and a
	// retry of its send is a duplicate.
	evs, err := domain.DecideRecall(s, p, domain.RecallCommand{UserID: "alice", SessionID: groupID, MessageID: msgID(1), Now: t0 + 1})
	if err != nil || evs != nil {
		t.Fatalf("recall = %v, %v; want nothing", evs, err)
	}
	res, _, err := domain.DecideSend(s, p, sendCmd(s, "alice", "c1", t0+2))
	if err != nil || !res.Duplicate || res.MessageID != msgID(1) {
		t.Fatalf("send = %+v, %v; want a duplicate of %s", res, err, msgID(1))
	}
}
