package command_test

import (
	"context"
	"sync"
	"testing"

	"github.com/tellyou/tellyou/domain"
	"github.com/tellyou/tellyou/events"
	"github.com/tellyou/tellyou/handlers/command"
)

// TestExpireOnTwoNodesAppendsOnce: two processes expiring the same messages
// at once (two sweepers overlapping for the length of a lease check) append
// one MessagesExpired; the later one finds nothing to do.
func TestExpireOnTwoNodesAppendsOnce(t *testing.T) {
	t.Parallel()
	e := newEngine(t)
	g := e.group(t, "ann", "bob")
	for _, c := range []string{"a", "b", "c"} {
		e.send(t, "ann", g, "hi", c)
	}
	before := e.clock.Now().UnixMilli() + 1
	var wg sync.WaitGroup
	results := make([]int64, 2)
	errs := make([]error, 2)
	for i, cmds := range []*command.Commands{e.cmds, e.newNode(t)} {
		h, err := command.NewExpireHandler(cmds.Sessions)
		if err != nil {
			t.Fatal(err)
		}
		wg.Go(func() {
			results[i], errs[i] = h.Handle(context.Background(), command.Expire{Meta: as("system:retention"),
				SessionID: g, UpToSeq: 2, Before: before})
		})
	}
	wg.Wait()
	for i := range 2 {
		if errs[i] != nil || results[i] != 2 {
			t.Errorf("node %d: expired up to %d, %v; want 2", i, results[i], errs[i])
		}
	}
	recs, err := e.store.ReadStream(context.Background(), g, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, r := range recs {
		if r.Type == events.TypeMessagesExpired {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d MessagesExpired events, want 1", n)
	}
	// The next message continues the seq.
	if ack := e.send(t, "bob", g, "after", "d"); ack.Seq != 4 {
		t.Errorf("next seq %d, want 4", ack.Seq)
	}
}

func TestSetRetentionRefusals(t *testing.T) {
	t.Parallel()
	e := newEngine(t)
	g := e.group(t, "ann", "bob")
	h, err := command.NewSetRetentionHandler(e.cmds.Sessions)
	if err != nil {
		t.Fatal(err)
	}
	zero, week := 0, 7
	for _, tc := range []struct {
		name, user, session string
		days                *int
		kind                domain.ErrorKind
	}{
		{"zero days", "ann", g, &zero, domain.KindInvalid},
		{"not the owner", "bob", g, &week, domain.KindForbidden},
		{"no such session", "ann", "g:00000000-0000-4000-8000-000000000000", &week, domain.KindNotFound},
	} {
		_, err := h.Handle(context.Background(), command.SetRetention{Meta: as(tc.user), SessionID: tc.session, Days: tc.days})
		var de *domain.Error
		if !errorsAs(err, &de) || de.Kind != tc.kind {
			t.Errorf("%s: %v, want a %v error", tc.name, err, tc.kind)
		}
	}
	if _, err := command.NewSetRetentionHandler(nil); err == nil {
		t.Error("a handler without a repository was built")
	}
	s, err := h.Handle(context.Background(), command.SetRetention{Meta: as("ann"), SessionID: g, Days: &week})
	if err != nil || s.RetentionDays == nil || *s.RetentionDays != 7 {
		t.Fatalf("set a week: %v, %v", s, err)
	}
}
