package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/tellyou/tellyou/events"
	"github.com/tellyou/tellyou/handlers/command"
	"github.com/tellyou/tellyou/handlers/handlerstest"
)

func TestReadinessFollowsTheProjections(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := handlerstest.New(t, handlerstest.Options{})
	clock := time.Now()
	r := newReadiness(e.Store, e.Runner, time.Second, func() time.Time { return clock })
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
