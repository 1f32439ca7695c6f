package main

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"

	"github.com/tellyou/tellyou/events"
	"github.com/tellyou/tellyou/handlers/command"
	"github.com/tellyou/tellyou/handlers/handlerstest"
)

func TestReadinessFollowsTheProjections(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := handlerstest.New(t, handlerstest.Options{})
	clock := time.Now()
	r, err := newReadiness(readinessConfig{Store: e.Store, Runner: e.Runner, MaxLag: time.Second, Now: func() time.Time { return clock }})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Commands.Send.Handle(ctx, command.Send{Meta: command.RequestMeta{Actor: "ann"}, ToUserID: "bob", MessageType: 1, Content: "hi", ClientMessageID: "c1"}); err != nil {
		t.Fatal(err)
	}
	e.CaughtUp(t)
	waitReady(t, r)

	// A corrupt event stops the history projection: not ready, with the reason.
	bad := events.EventData{EventID: uuid.New(), Type: events.TypeMessageSent, Data: []byte(`{"sessionId":"d:ann:bob","seq":"oops"}`), Metadata: []byte(`{"schemaVersion":1}`)}
	if _, err := e.Store.Append(ctx, "d:ann:bob", events.AnyVersion, []events.EventData{bad}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := r.Check(ctx)
		if err != nil && strings.Contains(err.Error(), "projection history is failing") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("readiness after a corrupt event = %v, want history failing", err)
		}
		time.Sleep(10 * time.Millisecond)
	}

	src := projectionSource(e.Store, e.Runner)
	head, states, err := src(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range states {
		if s.Name == "history" && (!s.Failing || s.Behind < 1 || s.Checkpoint >= head) {
			t.Fatalf("history state = %+v with head %d, want failing and behind", s, head)
		}
	}
}

// hungHead is an event store whose Head hangs, ignoring its context, until
// released: a driver stuck on a socket that passes no bytes.
type hungHead struct {
	calls   atomic.Int32
	release chan struct{}
}

func (h *hungHead) Head(context.Context) (events.Position, error) {
	h.calls.Add(1)
	<-h.release
	return 0, nil
}

// fakeBus is a NATS connection whose state and round trips the test sets.
type fakeBus struct {
	status atomic.Int32 // a nats.Status
	hang   atomic.Bool  // round trips wait for their context to end
}

func (b *fakeBus) Status() nats.Status { return nats.Status(b.status.Load()) }

func (b *fakeBus) FlushWithContext(ctx context.Context) error {
	if _, ok := ctx.Deadline(); !ok {
		return errors.New("round trip without a deadline")
	}
	if b.hang.Load() {
		<-ctx.Done()
		return ctx.Err()
	}
	return nil
}

// checkWithin runs one check and fails the test if it takes longer than
// limit; it returns the check's error.
func checkWithin(t *testing.T, r *readiness, limit time.Duration) error {
	t.Helper()
	start := time.Now()
	err := r.Check(context.Background())
	if took := time.Since(start); took > limit {
		t.Fatalf("readiness answered after %v (%v), want within %v", took, err, limit)
	}
	return err
}

func TestReadinessAnswersWithinItsBudgetWhateverTheDependenciesDo(t *testing.T) {
	t.Parallel()
	e := handlerstest.New(t, handlerstest.Options{})
	const budget = 200 * time.Millisecond
	const limit = budget + 300*time.Millisecond // scheduling slack, -race included
	bus := &fakeBus{}
	bus.status.Store(int32(nats.CONNECTED))
	store := &storeSwitch{real: e.Store}
	r, err := newReadiness(readinessConfig{Store: store, Bus: bus, Runner: e.Runner, MaxLag: time.Minute, Budget: budget})
	if err != nil {
		t.Fatal(err)
	}
	waitReady(t, r)

	// An event store that hangs, ignoring its context, and a bus whose
	// round trips go unanswered: both are named, within the budget.
	hung := &hungHead{release: make(chan struct{})}
	store.hung.Store(hung)
	bus.hang.Store(true)
	for range 3 {
		err := checkWithin(t, r, limit)
		for _, want := range []string{"event store did not answer within 200ms", "message bus (NATS) did not answer within 200ms"} {
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Fatalf("readiness = %v, want it to say %q", err, want)
			}
		}
	}
	// The checks waited for the one hung call; they did not pile up more.
	if n := hung.calls.Load(); n != 1 {
		t.Fatalf("Head called %d times while hung, want 1", n)
	}

	// A bus that lost its connection is said disconnected, without I/O (once
	// the probes under way when it changed have ended).
	bus.hang.Store(false)
	bus.status.Store(int32(nats.RECONNECTING))
	store.hung.Store(nil)
	close(hung.release)
	checkUntil(t, r, limit, "message bus (NATS) disconnected (RECONNECTING)")
	bus.status.Store(int32(nats.CONNECTED))
	checkUntil(t, r, limit, "")
}

// checkUntil checks until the answer's text is want ("" for ready), each
// check within limit.
func checkUntil(t *testing.T, r *readiness, limit time.Duration, want string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		err := checkWithin(t, r, limit)
		got := ""
		if err != nil {
			got = err.Error()
		}
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("readiness = %q, want %q", got, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// storeSwitch is the real event store, or a hung one while hung is set.
type storeSwitch struct {
	real logHead
	hung atomic.Pointer[hungHead]
}

func (s *storeSwitch) Head(ctx context.Context) (events.Position, error) {
	if h := s.hung.Load(); h != nil {
		return h.Head(ctx)
	}
	return s.real.Head(ctx)
}

func waitReady(t *testing.T, r *readiness) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := r.Check(context.Background())
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("not ready: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
