package domain_test

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/tellyou/tellyou/domain"
	"github.com/tellyou/tellyou/events"
)

func TestDecideCreateGroup(t *testing.T) {
	t.Parallel()
	p := domain.DefaultPolicy()
	p.MaxGroupMembers = 4
	existing := groupSession(t, p, "alice")
	cmd := func(creator, title string, members ...string) domain.CreateGroupCommand {
		return domain.CreateGroupCommand{SessionID: groupID, Creator: creator, Title: title, Members: members, Now: t0}
	}
	created := func(title string, members ...string) []events.Payload {
		return []events.Payload{events.SessionCreated{SessionID: groupID, Kind: events.KindGroup, Title: title, Owner: "carol", Members: members, CreatedAt: t0}}
	}

	tests := []struct {
		name  string
		state *domain.Session
		cmd   domain.CreateGroupCommand
		want  []events.Payload
		kind  domain.ErrorKind
	}{
		{"members sorted, creator included", nil, cmd("carol", "team", "bob", "alice"), created("team", "alice", "bob", "carol"), 0},
		{"duplicates and creator listed", nil, cmd("carol", "", "bob", "carol", "bob"), created("", "bob", "carol"), 0},
		{"creator alone", nil, cmd("carol", "me"), created("me", "carol"), 0},
		{"at the member limit", nil, cmd("carol", "", "a", "b", "c", "a"), created("", "a", "b", "c", "carol"), 0},
		{"title at the limit", nil, cmd("carol", strings.Repeat("t", 200)), created(strings.Repeat("t", 200), "carol"), 0},
		{"over the member limit", nil, cmd("carol", "", "a", "b", "c", "d"), nil, domain.KindInvalid},
		{"title too long", nil, cmd("carol", strings.Repeat("t", 201)), nil, domain.KindInvalid},
		{"title with NUL", nil, cmd("carol", "a\x00b"), nil, domain.KindInvalid},
		{"title not UTF-8", nil, cmd("carol", "a\xff"), nil, domain.KindInvalid},
		{"invalid creator", nil, cmd("car ol", "team"), nil, domain.KindInvalid},
		{"invalid member", nil, cmd("carol", "team", "bob", "b:b"), nil, domain.KindInvalid},
		{"empty member", nil, cmd("carol", "team", ""), nil, domain.KindInvalid},
		{"exists", existing, cmd("carol", "team"), nil, domain.KindConflict},
		{"direct session id", domain.NewSession("d:alice:carol", p), domain.CreateGroupCommand{SessionID: "d:alice:carol", Creator: "carol"}, nil, domain.KindInvalid},
		{"malformed session id", domain.NewSession("g:nope", p), domain.CreateGroupCommand{SessionID: "g:nope", Creator: "carol"}, nil, domain.KindInvalid},
		{"command for another session", nil, domain.CreateGroupCommand{SessionID: "g:00000000-0000-4000-8000-000000000001", Creator: "carol"}, nil, domain.KindInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := tt.state
			if s == nil {
				s = domain.NewSession(groupID, p)
			}
			got, err := domain.DecideCreateGroup(s, p, tt.cmd)
			wantKind(t, err, tt.kind)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("events = %#v, want %#v", got, tt.want)
			}
		})
	}
}

func TestDecideCreateGroupRoundTrip(t *testing.T) {
	t.Parallel()
	p := domain.DefaultPolicy()
	s := domain.NewSession(groupID, p)
	cmd := domain.CreateGroupCommand{SessionID: groupID, Creator: "carol", Title: "team", Members: []string{"bob", "alice"}, Now: t0}
	evs, err := domain.DecideCreateGroup(s, p, cmd)
	if err != nil {
		t.Fatal(err)
	}
	applyAll(s, evs...)
	if !s.Exists() || s.Owner != "carol" || s.Title != "team" || s.CreatedAt != t0 || !reflect.DeepEqual(s.MemberIDs(), []string{"alice", "bob", "carol"}) {
		t.Fatalf("state = %+v", s)
	}
	_, err = domain.DecideCreateGroup(s, p, cmd)
	wantKind(t, err, domain.KindConflict)
}

func TestDecideChangeMembers(t *testing.T) {
	t.Parallel()
	p := domain.DefaultPolicy()
	p.MaxGroupMembers = 5
	// alice owns a group of alice, bob and carol with 3 messages.
	s := groupSession(t, p, "alice", "bob", "carol")
	for i := 1; i <= 3; i++ {
		mustSend(t, s, p, sendCmd(s, "bob", msgID(i), t0+int64(i)))
	}
	direct := directSession(t, p, "alice", "bob")

	change := func(user string, add, remove []string) domain.ChangeMembersCommand {
		return domain.ChangeMembersCommand{SessionID: groupID, UserID: user, Add: add, Remove: remove}
	}
	added := func(ids ...string) events.Payload {
		return events.MembersAdded{SessionID: groupID, Members: ids, By: "alice", AtSeq: 3}
	}
	removed := func(ids ...string) events.Payload {
		return events.MembersRemoved{SessionID: groupID, Members: ids, By: "alice"}
	}
	list := func(ids ...string) []string { return ids }

	tests := []struct {
		name  string
		state *domain.Session
		cmd   domain.ChangeMembersCommand
		want  []events.Payload
		kind  domain.ErrorKind
	}{
		{"add", s, change("alice", list("erin", "dave", "erin"), nil), []events.Payload{added("dave", "erin")}, 0},
		{"remove", s, change("alice", nil, list("carol", "bob")), []events.Payload{removed("bob", "carol")}, 0},
		{"add and remove", s, change("alice", list("dave"), list("bob")), []events.Payload{added("dave"), removed("bob")}, 0},
		{"existing members and non-members ignored", s, change("alice", list("bob", "dave"), list("zed", "carol")), []events.Payload{added("dave"), removed("carol")}, 0},
		{"adding the owner changes nothing", s, change("alice", list("alice"), nil), nil, 0},
		{"nothing effective", s, change("alice", list("bob"), list("zed")), nil, 0},
		{"up to the limit", s, change("alice", list("dave", "erin"), nil), []events.Payload{added("dave", "erin")}, 0},
		{"room made by removals", s, change("alice", list("dave", "erin", "frank"), list("bob")), []events.Payload{added("dave", "erin", "frank"), removed("bob")}, 0},
		{"over the limit", s, change("alice", list("dave", "erin", "frank"), nil), nil, domain.KindInvalid},
		{"over the limit counting non-members removed", s, change("alice", list("dave", "erin", "frank"), list("zed")), nil, domain.KindInvalid},
		{"empty", s, change("alice", nil, nil), nil, domain.KindInvalid},
		{"empty lists", s, change("alice", list(), list()), nil, domain.KindInvalid},
		{"invalid id to add", s, change("alice", list("da ve"), nil), nil, domain.KindInvalid},
		{"invalid id to remove", s, change("alice", nil, list("")), nil, domain.KindInvalid},
		{"in both lists", s, change("alice", list("dave"), list("dave")), nil, domain.KindInvalid},
		{"member in both lists", s, change("alice", list("bob"), list("bob")), nil, domain.KindInvalid},
		{"removing the owner", s, change("alice", nil, list("alice")), nil, domain.KindInvalid},
		{"not the owner", s, change("bob", list("dave"), nil), nil, domain.KindForbidden},
		{"not a member", s, change("zed", list("dave"), nil), nil, domain.KindForbidden},
		{"direct session", direct, domain.ChangeMembersCommand{SessionID: direct.ID, UserID: "alice", Add: list("carol")}, nil, domain.KindInvalid},
		{"missing session", domain.NewSession(groupID, p), change("alice", list("dave"), nil), nil, domain.KindNotFound},
		{"command for another session", s, domain.ChangeMembersCommand{SessionID: direct.ID, UserID: "alice", Add: list("dave")}, nil, domain.KindInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := domain.DecideChangeMembers(tt.state, p, tt.cmd)
			wantKind(t, err, tt.kind)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("events = %#v, want %#v", got, tt.want)
			}
		})
	}
}

func TestDecideChangeMembersRoundTrip(t *testing.T) {
	t.Parallel()
	p := domain.DefaultPolicy()
	s := groupSession(t, p, "alice", "bob")
	for i := 1; i <= 4; i++ {
		mustSend(t, s, p, sendCmd(s, "bob", msgID(i), t0+int64(i)))
	}
	evs, err := domain.DecideChangeMembers(s, p, domain.ChangeMembersCommand{SessionID: groupID, UserID: "alice", Add: []string{"carol"}, Remove: []string{"bob"}})
	if err != nil {
		t.Fatal(err)
	}
	applyAll(s, evs...)
	if got := s.MemberIDs(); !reflect.DeepEqual(got, []string{"alice", "carol"}) {
		t.Fatalf("members = %v", got)
	}
	// The newcomer starts at the seq they joined at: earlier history is not unread.
	if m := s.Members["carol"]; m.ReceivedSeq != 4 || m.ReadSeq != 4 {
		t.Fatalf("carol = %+v, want watermarks at 4", m)
	}
	// bob is out: he can no longer send, ack or recall; carol can send.
	_, _, err = domain.DecideSend(s, p, sendCmd(s, "bob", "late", t0+10))
	wantKind(t, err, domain.KindForbidden)
	_, err = domain.DecideAck(s, domain.AckCommand{UserID: "bob", SessionID: groupID, Seq: 4, AckType: domain.AckRead})
	wantKind(t, err, domain.KindForbidden)
	if res := mustSend(t, s, p, sendCmd(s, "carol", "hi", t0+11)); res.Seq != 5 {
		t.Fatalf("carol's message got seq %d, want 5", res.Seq)
	}
	// The same change again changes nothing.
	evs, err = domain.DecideChangeMembers(s, p, domain.ChangeMembersCommand{SessionID: groupID, UserID: "alice", Add: []string{"carol"}, Remove: []string{"bob"}})
	if err != nil || evs != nil {
		t.Fatalf("repeated change = %v, %v; want nothing", evs, err)
	}
}

func TestDecideChangeMembersErrorsDoNotEchoInput(t *testing.T) {
	t.Parallel()
	p := domain.DefaultPolicy()
	s := groupSession(t, p, "alice")
	long := strings.Repeat("<script>", 100)
	_, err := domain.DecideChangeMembers(s, p, domain.ChangeMembersCommand{SessionID: groupID, UserID: "alice", Add: []string{"bob", long}})
	wantKind(t, err, domain.KindInvalid)
	if strings.Contains(err.Error(), "script") {
		t.Fatalf("error echoes the input: %v", err)
	}
	if want := fmt.Sprintf("add[%d] is not a valid user id", 1); err.Error() != want {
		t.Fatalf("error = %q, want %q", err, want)
	}
}
