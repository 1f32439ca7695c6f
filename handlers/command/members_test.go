package command_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/tellyou/tellyou/domain"
	"github.com/tellyou/tellyou/handlers/command"
	"github.com/tellyou/tellyou/handlers/query"
)

func TestGroupMembershipIsTheOwnersToChange(t *testing.T) {
	t.Parallel()
	e := newEngine(t)
	ctx := context.Background()
	created, err := e.cmds.CreateGroup.Handle(ctx, command.CreateGroup{Meta: as("olga"), Title: "ops", Members: []string{"pete", "quin"}})
	if err != nil {
		t.Fatal(err)
	}
	view := query.SessionView(created, "olga")
	if view.Kind != "group" || view.Owner != "olga" || view.Title != "ops" || !slices.Equal(view.Members, []string{"olga", "pete", "quin"}) {
		t.Fatalf("created group = %+v", view)
	}
	gid := created.ID
	e.send(t, "pete", gid, "before rita joined", "c1")

	change := func(user string, add, remove []string) error {
		_, err := e.cmds.ChangeMembers.Handle(ctx, command.ChangeMembers{Meta: as(user), SessionID: gid, Add: add, Remove: remove})
		return err
	}
	if err := change("pete", []string{"rita"}, nil); !errors.Is(err, domain.ErrForbidden) {
		t.Fatalf("member adds = %v, want forbidden", err)
	}
	if err := change("zed", []string{"rita"}, nil); !errors.Is(err, domain.ErrForbidden) {
		t.Fatalf("outsider adds = %v, want forbidden", err)
	}
	if err := change("olga", nil, []string{"olga"}); !errors.Is(err, domain.ErrInvalid) {
		t.Fatalf("owner removes self = %v, want invalid", err)
	}
	if err := change("olga", []string{"rita"}, []string{"quin"}); err != nil {
		t.Fatalf("owner changes members: %v", err)
	}
	_, err = e.cmds.Send.Handle(ctx, command.Send{Meta: as("quin"), SessionID: gid, MessageType: 1, Content: "still here?", ClientMessageID: "q1"})
	if !errors.Is(err, domain.ErrForbidden) {
		t.Fatalf("removed member sends = %v, want forbidden", err)
	}
	e.send(t, "rita", gid, "hello all", "r1")

	e.caughtUp(t)
	rita, err := e.rm.Session(ctx, gid, "rita")
	if err != nil {
		t.Fatal(err)
	}
	if rita.UnreadCount != 0 || rita.ReadSeq != 1 || !slices.Equal(rita.Members, []string{"olga", "pete", "rita"}) {
		t.Fatalf("rita's view = %+v; history before joining is not unread", rita)
	}
	olga, err := e.rm.Session(ctx, gid, "olga")
	if err != nil || olga.UnreadCount != 2 {
		t.Fatalf("olga's unread = %d (%v), want 2", olga.UnreadCount, err)
	}
	quinSessions, err := e.queries.Sessions(ctx, "quin")
	if err != nil || len(quinSessions) != 0 {
		t.Fatalf("removed member still lists %+v (%v)", quinSessions, err)
	}
	if _, err := e.queries.Messages(ctx, query.MessagesQuery{Meta: as("quin"), SessionID: gid}); !errors.Is(err, domain.ErrForbidden) {
		t.Fatalf("removed member pulls history = %v, want forbidden", err)
	}
	if _, err := e.cmds.ChangeMembers.Handle(ctx, command.ChangeMembers{Meta: as("ann"), SessionID: e.sendTo(t, "ann", "bob", "x", "x").SessionID, Add: []string{"cy"}}); !errors.Is(err, domain.ErrInvalid) {
		t.Fatalf("adding to a direct session = %v, want invalid", err)
	}
}
