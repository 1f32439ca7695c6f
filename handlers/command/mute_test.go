package command_test

import (
	"context"
	"errors"
	"testing"

	"github.com/tellyou/tellyou/domain"
	"github.com/tellyou/tellyou/events"
	"github.com/tellyou/tellyou/handlers/command"
)

func TestMuteChangesOnlyTheMembersOwnSetting(t *testing.T) {
	t.Parallel()
	e := newEngine(t)
	ctx := context.Background()
	sid := e.group(t, "ann", "bob")
	mute := func(user, session string, muted bool) (command.MemberSettings, error) {
		return e.cmds.Mute.Handle(ctx, command.Mute{Meta: as(user), SessionID: session, Muted: muted})
	}
	got, err := mute("bob", sid, true)
	if err != nil || got != (command.MemberSettings{SessionID: sid, UserID: "bob", Muted: true}) {
		t.Fatalf("bob mutes = %+v, %v", got, err)
	}
	if got, err := mute("bob", sid, true); err != nil || !got.Muted {
		t.Fatalf("bob mutes again = %+v, %v; want muted, no error", got, err)
	}
	if _, err := mute("eve", sid, true); !errors.Is(err, domain.ErrForbidden) {
		t.Errorf("non-member mutes = %v, want forbidden", err)
	}
	if _, err := mute("bob", "g:6f1c2c43-3f65-4a8e-9a0e-2d8f4d3b1a10", true); !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("mute of a missing session = %v, want not found", err)
	}
	if _, err := mute("bob", "no such id", true); err == nil {
		t.Error("mute of a malformed session id succeeded")
	}

	recs, err := e.store.ReadStream(ctx, sid, 1, 100)
	if err != nil {
		t.Fatal(err)
	}
	changes := 0
	for _, r := range recs {
		if r.Type == events.TypeMemberSettingsChanged {
			changes++
		}
	}
	if changes != 1 {
		t.Errorf("%d MemberSettingsChanged in the stream, want 1 (muting twice changes once)", changes)
	}

	e.caughtUp(t)
	for user, want := range map[string]bool{"bob": true, "ann": false} {
		s, err := e.rm.Session(ctx, sid, user)
		if err != nil || s.Muted != want {
			t.Errorf("read model of %s: muted %v (%v), want %v", user, s.Muted, err, want)
		}
	}
	if _, err := mute("bob", sid, false); err != nil {
		t.Fatal(err)
	}
	e.caughtUp(t)
	if s, err := e.rm.Session(ctx, sid, "bob"); err != nil || s.Muted {
		t.Errorf("read model after bob unmuted: muted %v (%v)", s.Muted, err)
	}
}
