package domain_test

import (
	"reflect"
	"testing"

	"github.com/tellyou/tellyou/domain"
	"github.com/tellyou/tellyou/events"
)

func days(n int) *int { return &n }

func TestDecideSetRetention(t *testing.T) {
	t.Parallel()
	p := domain.DefaultPolicy()
	g := groupSession(t, p, "alice", "bob")
	applyAll(g, events.MembersAdded{SessionID: groupID, Members: []string{"carol"}, By: "alice"},
		events.MembersRemoved{SessionID: groupID, Members: []string{"carol"}, By: "alice"})
	set := groupSession(t, p, "alice", "bob")
	applyAll(set, events.SessionSettingsChanged{SessionID: groupID, By: "alice", RetentionDays: days(30), At: t0})
	d := directSession(t, p, "ann", "ben")

	cmd := func(s *domain.Session, user string, n *int) domain.SetRetentionCommand {
		return domain.SetRetentionCommand{SessionID: s.ID, UserID: user, Days: n, Now: t0 + 5}
	}
	changed := func(s *domain.Session, user string, n *int) []events.Payload {
		return []events.Payload{events.SessionSettingsChanged{SessionID: s.ID, By: user, RetentionDays: n, At: t0 + 5}}
	}
	tests := []struct {
		name  string
		state *domain.Session
		cmd   domain.SetRetentionCommand
		want  []events.Payload
		kind  domain.ErrorKind
	}{
		{"owner sets 30 days", g, cmd(g, "alice", days(30)), changed(g, "alice", days(30)), 0},
		{"owner sets the least", g, cmd(g, "alice", days(1)), changed(g, "alice", days(1)), 0},
		{"owner sets the most", g, cmd(g, "alice", days(36500)), changed(g, "alice", days(36500)), 0},
		{"back to the default", set, cmd(set, "alice", nil), changed(set, "alice", nil), 0},
		{"default unchanged", g, cmd(g, "alice", nil), nil, 0},
		{"days unchanged", set, cmd(set, "alice", days(30)), nil, 0},
		{"zero days", g, cmd(g, "alice", days(0)), nil, domain.KindInvalid},
		{"negative days", g, cmd(g, "alice", days(-1)), nil, domain.KindInvalid},
		{"over a hundred years", g, cmd(g, "alice", days(36501)), nil, domain.KindInvalid},
		{"member not owner", g, cmd(g, "bob", days(30)), nil, domain.KindForbidden},
		{"removed member", g, cmd(g, "carol", days(30)), nil, domain.KindForbidden},
		{"never a member", g, cmd(g, "dave", days(30)), nil, domain.KindForbidden},
		{"direct: first member", d, cmd(d, "ann", days(7)), changed(d, "ann", days(7)), 0},
		{"direct: second member", d, cmd(d, "ben", days(7)), changed(d, "ben", days(7)), 0},
		{"direct: outsider", d, cmd(d, "carl", days(7)), nil, domain.KindForbidden},
		{"missing session", domain.NewSession(groupID, p), cmd(g, "alice", days(3)), nil, domain.KindNotFound},
		{"command for another session", g, cmd(d, "alice", days(3)), nil, domain.KindInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := domain.DecideSetRetention(tt.state, tt.cmd)
			wantKind(t, err, tt.kind)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("events = %#v, want %#v", got, tt.want)
			}
		})
	}
}

func TestSetRetentionAppliesAndClones(t *testing.T) {
	t.Parallel()
	p := domain.DefaultPolicy()
	s := groupSession(t, p, "alice")
	applyAll(s, &events.SessionSettingsChanged{SessionID: groupID, By: "alice", RetentionDays: days(9), At: t0})
	if s.RetentionDays == nil || *s.RetentionDays != 9 {
		t.Fatalf("RetentionDays = %v, want 9", s.RetentionDays)
	}
	c := s.Clone()
	applyAll(s, events.SessionSettingsChanged{SessionID: groupID, By: "alice", At: t0})
	if s.RetentionDays != nil {
		t.Fatalf("RetentionDays = %d after a change to the default, want nil", *s.RetentionDays)
	}
	if c.RetentionDays == nil || *c.RetentionDays != 9 {
		t.Fatalf("the clone's RetentionDays = %v, want 9", c.RetentionDays)
	}
}
