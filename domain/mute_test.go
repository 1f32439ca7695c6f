package domain_test

import (
	"reflect"
	"testing"

	"github.com/tellyou/tellyou/domain"
	"github.com/tellyou/tellyou/events"
)

func TestDecideMute(t *testing.T) {
	t.Parallel()
	p := domain.DefaultPolicy()
	s := groupSession(t, p, "alice", "bob", "carol")
	applyAll(s, events.MemberSettingsChanged{SessionID: groupID, UserID: "bob", Muted: true, At: t0})
	applyAll(s, events.MembersRemoved{SessionID: groupID, Members: []string{"carol"}, By: "alice"})

	cmd := func(user string, muted bool) domain.MuteCommand {
		return domain.MuteCommand{UserID: user, SessionID: groupID, Muted: muted, Now: t0 + 5}
	}
	changed := func(user string, muted bool) []events.Payload {
		return []events.Payload{events.MemberSettingsChanged{SessionID: groupID, UserID: user, Muted: muted, At: t0 + 5}}
	}
	tests := []struct {
		name  string
		state *domain.Session
		cmd   domain.MuteCommand
		want  []events.Payload
		kind  domain.ErrorKind
	}{
		{"member mutes", s, cmd("alice", true), changed("alice", true), 0},
		{"muted member unmutes", s, cmd("bob", false), changed("bob", false), 0},
		{"muted member mutes again: no change", s, cmd("bob", true), nil, 0},
		{"unmuted member unmutes: no change", s, cmd("alice", false), nil, 0},
		{"removed member", s, cmd("carol", true), nil, domain.KindForbidden},
		{"never a member", s, cmd("dave", true), nil, domain.KindForbidden},
		{"missing session", domain.NewSession(groupID, p), cmd("alice", true), nil, domain.KindNotFound},
		{"command for another session", s, domain.MuteCommand{UserID: "alice", SessionID: "d:alice:bob", Muted: true}, nil, domain.KindInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := domain.DecideMute(tt.state, tt.cmd)
			wantKind(t, err, tt.kind)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("events = %#v, want %#v", got, tt.want)
			}
		})
	}
}

func TestMuteIsTheMembersOwnAndEndsWithMembership(t *testing.T) {
	t.Parallel()
	p := domain.DefaultPolicy()
	s := groupSession(t, p, "alice", "bob")
	evs, err := domain.DecideMute(s, domain.MuteCommand{UserID: "bob", SessionID: groupID, Muted: true, Now: t0})
	if err != nil {
		t.Fatal(err)
	}
	applyAll(s, evs...)
	if !s.Members["bob"].Muted || s.Members["alice"].Muted {
		t.Fatalf("after bob muted: bob %v, alice %v; want true, false", s.Members["bob"].Muted, s.Members["alice"].Muted)
	}
	if c := s.Clone(); !c.Members["bob"].Muted {
		t.Error("a clone lost bob's mute")
	}
	// A pointer payload applies as its value does.
	applyAll(s, &events.MemberSettingsChanged{SessionID: groupID, UserID: "alice", Muted: true, At: t0})
	if !s.Members["alice"].Muted {
		t.Error("a pointer payload was not applied")
	}
	// Settings of a non-member are a fact about no one: ignored.
	applyAll(s, events.MemberSettingsChanged{SessionID: groupID, UserID: "zoe", Muted: true, At: t0})
	if s.IsMember("zoe") {
		t.Error("a setting made zoe a member")
	}
	applyAll(s, events.MembersRemoved{SessionID: groupID, Members: []string{"bob"}, By: "alice"},
		events.MembersAdded{SessionID: groupID, Members: []string{"bob"}, By: "alice"})
	if s.Members["bob"].Muted {
		t.Error("bob, removed and added again, is still muted")
	}
}
