package command_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/tellyou/tellyou/domain"
	"github.com/tellyou/tellyou/events"
	"github.com/tellyou/tellyou/handlers/command"
)

// recordingKeys is a KeyEraser that remembers its calls and can fail.
type recordingKeys struct {
	mu    sync.Mutex
	calls []string
	fail  error
}

func (k *recordingKeys) EraseUser(_ context.Context, userID string) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.calls = append(k.calls, userID)
	return k.fail
}

func TestEraseAppendsOnceAndDeletesKeysEachTime(t *testing.T) {
	t.Parallel()
	e := newEngine(t)
	ctx := context.Background()
	keys := &recordingKeys{}
	h, err := command.NewEraseHandler(command.EraseConfig{Store: e.store, Keys: keys, Now: e.clock.Now})
	if err != nil {
		t.Fatal(err)
	}

	if _, err := h.Handle(ctx, command.EraseUser{Meta: as("eve"), UserID: "ann"}); !errors.Is(err, domain.ErrForbidden) {
		t.Fatalf("erase of another user without the role = %v, want forbidden", err)
	}
	if _, err := h.Handle(ctx, command.EraseUser{Meta: as("ops"), ActorIsAdmin: true, UserID: "not:a:user"}); !errors.Is(err, domain.ErrInvalid) {
		t.Fatalf("erase of a malformed user id = %v, want invalid", err)
	}
	if recs, _ := e.store.ReadStream(ctx, events.UserStreamPrefix+"ann", 1, 10); len(recs) != 0 || len(keys.calls) != 0 {
		t.Fatalf("refused erasures left %d events and %d key deletions", len(recs), len(keys.calls))
	}

	first, err := h.Handle(ctx, command.EraseUser{Meta: as("ann"), UserID: "ann"})
	if err != nil {
		t.Fatal(err)
	}
	if first.By != "ann" || first.ErasedAt != e.clock.Now().UnixMilli() || first.Repeated {
		t.Fatalf("self erasure = %+v", first)
	}
	e.clock.Advance(time.Minute)
	again, err := h.Handle(ctx, command.EraseUser{Meta: as("ops"), ActorIsAdmin: true, UserID: "ann"})
	if err != nil {
		t.Fatal(err)
	}
	if again.ErasedAt != first.ErasedAt || again.By != "ann" || !again.Repeated {
		t.Fatalf("repeated erasure = %+v, want the first one %+v", again, first)
	}
	recs, err := e.store.ReadStream(ctx, events.UserStreamPrefix+"ann", 1, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 1 || recs[0].Type != events.TypeUserErased {
		t.Fatalf("user stream holds %d events, want one UserErased", len(recs))
	}
	env, err := events.Decode(recs[0])
	if err != nil {
		t.Fatal(err)
	}
	if env.Meta.Actor != "ann" || env.Payload.(events.UserErased).By != "ann" {
		t.Fatalf("logged erasure = %+v", env)
	}
	if len(keys.calls) != 2 || keys.calls[0] != "ann" || keys.calls[1] != "ann" {
		t.Fatalf("key deletions = %q, want ann twice", keys.calls)
	}
}

func TestEraseKeptInTheLogWhenKeyDeletionFails(t *testing.T) {
	t.Parallel()
	e := newEngine(t)
	ctx := context.Background()
	keys := &recordingKeys{fail: errors.New("keystore down")}
	h, err := command.NewEraseHandler(command.EraseConfig{Store: e.store, Keys: keys})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.Handle(ctx, command.EraseUser{Meta: as("ops"), ActorIsAdmin: true, UserID: "bob"}); err == nil {
		t.Fatal("erasure whose key deletion failed reported success")
	}
	if _, err := command.FirstErasure(ctx, e.store, "bob"); err != nil {
		t.Fatalf("the erasure is not in the log after a failed key deletion: %v", err)
	}
	keys.fail = nil
	if _, err := h.Handle(ctx, command.EraseUser{Meta: as("ops"), ActorIsAdmin: true, UserID: "bob"}); err != nil {
		t.Fatalf("retry = %v", err)
	}
	if len(keys.calls) != 2 {
		t.Fatalf("key deletions = %d, want the retry to delete again", len(keys.calls))
	}
	if _, err := command.FirstErasure(ctx, e.store, "carl"); !errors.Is(err, command.ErrNotErased) {
		t.Fatalf("first erasure of a user never erased = %v", err)
	}
	if _, err := command.NewEraseHandler(command.EraseConfig{Store: e.store}); err == nil {
		t.Fatal("handler without a key eraser accepted")
	}
}
