package command_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/tellyou/tellyou/domain"
	"github.com/tellyou/tellyou/handlers/command"
	"github.com/tellyou/tellyou/readmodels"
)

func TestRecallRules(t *testing.T) {
	t.Parallel()
	e := newEngine(t)
	ctx := context.Background()
	first := e.sendTo(t, "ann", "bob", "oops", "c1")
	sid := first.SessionID
	recall := func(user, messageID string) error {
		return e.cmds.Recall.Handle(ctx, command.Recall{Meta: as(user), SessionID: sid, MessageID: messageID})
	}

	if err := recall("bob", first.MessageID); !errors.Is(err, domain.ErrForbidden) {
		t.Fatalf("non-sender recall = %v, want forbidden", err)
	}
	if err := recall("eve", first.MessageID); !errors.Is(err, domain.ErrForbidden) {
		t.Fatalf("non-member recall = %v, want forbidden", err)
	}
	if err := recall("ann", "5f0c3f9e-0000-4000-8000-000000000000"); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("unknown message recall = %v, want not_found", err)
	}
	if err := recall("ann", first.MessageID); err != nil {
		t.Fatalf("sender recall within the window = %v", err)
	}
	if err := recall("ann", first.MessageID); err != nil {
		t.Fatalf("repeated recall = %v, want ok", err)
	}

	late := e.send(t, "ann", sid, "too late to take back", "c2")
	e.clock.Advance(2*time.Minute + time.Millisecond)
	if err := recall("ann", late.MessageID); !errors.Is(err, domain.ErrForbidden) {
		t.Fatalf("recall after the window = %v, want forbidden", err)
	}

	e.caughtUp(t)
	page, err := e.rm.Messages(ctx, sid, readmodels.PageQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Messages) != 2 || !page.Messages[0].Recalled || page.Messages[0].Content != "" || page.Messages[0].Seq != 1 ||
		page.Messages[1].Recalled || page.Messages[1].Content != "too late to take back" {
		t.Fatalf("history after recall = %+v", page.Messages)
	}
	recs, err := e.store.ReadStream(ctx, sid, 1, 100)
	if err != nil {
		t.Fatal(err)
	}
	recalls := 0
	for _, r := range recs {
		if r.Type == "MessageRecalled" {
			recalls++
		}
	}
	if recalls != 1 {
		t.Fatalf("%d MessageRecalled events, want exactly 1", recalls)
	}
}

func TestRecallOfAMessageOlderThanTheStateKeepsIsTooLateNotUnknown(t *testing.T) {
	t.Parallel()
	e := newEngine(t)
	ctx := context.Background()
	old := e.sendTo(t, "ann", "bob", "ancient", "c1")
	// Two days later a new message pushes the old one out of the state's
	// retention; a fresh node must then rely on the history read model.
	e.clock.Advance(48 * time.Hour)
	e.sendTo(t, "ann", "bob", "today", "c2")
	e.caughtUp(t)
	fresh := e.newNode(t)
	err := fresh.Recall.Handle(ctx, command.Recall{Meta: as("ann"), SessionID: old.SessionID, MessageID: old.MessageID})
	var de *domain.Error
	if !errors.As(err, &de) || de.Kind != domain.KindForbidden || de.Reason != "the recall window has passed" {
		t.Fatalf("recall of a 2-day-old message = %v, want forbidden: the recall window has passed", err)
	}
	err = fresh.Recall.Handle(ctx, command.Recall{Meta: as("bob"), SessionID: old.SessionID, MessageID: old.MessageID})
	if !errors.As(err, &de) || de.Kind != domain.KindForbidden || de.Reason != "only the sender can recall a message" {
		t.Fatalf("recall of someone else's old message = %v", err)
	}
}
