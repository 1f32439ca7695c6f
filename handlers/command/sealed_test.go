package command_test

import (
	"context"
	"testing"

	"github.com/tellyou/tellyou/domain"
	"github.com/tellyou/tellyou/events"
	"github.com/tellyou/tellyou/handlers/command"
)

// TestErasedSenderIsRefused: once a user is erased, neither their sends nor
// their edits are appended (no key is made to seal them); other members go
// on. Nothing of the refused commands reaches the log.
func TestErasedSenderIsRefused(t *testing.T) {
	t.Parallel()
	e := newEngine(t)
	ctx := context.Background()
	first := e.sendTo(t, "ann", "bob", "before", "c1")
	if err := e.Keys.EraseUser(ctx, "ann"); err != nil {
		t.Fatal(err)
	}
	recs, err := e.Store.ReadStream(ctx, first.SessionID, 1, 100)
	if err != nil {
		t.Fatal(err)
	}
	wantForbidden := func(what string, err error) {
		t.Helper()
		var de *domain.Error
		if !errorsAs(err, &de) || de.Kind != domain.KindForbidden || de.Reason != "user erased" {
			t.Fatalf("%s by an erased user = %v, want forbidden \"user erased\"", what, err)
		}
	}
	_, err = e.Commands.Send.Handle(ctx, command.Send{Meta: as("ann"), SessionID: first.SessionID, MessageType: 1,
		Content: "after", ClientMessageID: "c2"})
	wantForbidden("send", err)
	wantForbidden("edit", e.Commands.Edit.Handle(ctx, command.Edit{Meta: as("ann"), SessionID: first.SessionID,
		MessageID: first.MessageID, Content: "changed"}))
	if after, err := e.Store.ReadStream(ctx, first.SessionID, 1, 100); err != nil || len(after) != len(recs) {
		t.Fatalf("stream grew from %d to %d events (%v)", len(recs), len(after), err)
	}
	reply := e.send(t, "bob", first.SessionID, "still here", "b1")
	if reply.Seq != first.Seq+1 {
		t.Fatalf("bob's message got seq %d, want %d", reply.Seq, first.Seq+1)
	}
	last, err := e.Store.ReadStream(ctx, first.SessionID, int64(len(recs))+1, 1)
	if err != nil || len(last) != 1 {
		t.Fatal(err)
	}
	env, err := events.Decode(last[0])
	if err != nil {
		t.Fatal(err)
	}
	if m := env.Payload.(events.MessageSent); m.Sealed == nil || m.Content != "" || env.Meta.SchemaVersion != 2 {
		t.Fatalf("bob's message stored as %+v (schema %d), want it sealed", m, env.Meta.SchemaVersion)
	}
}
