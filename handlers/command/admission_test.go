package command_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/tellyou/tellyou/domain"
	"github.com/tellyou/tellyou/handlers/command"
)

// TestCommandsPastTheQueueDelayAreRefusedAndStoreNothing: a node whose
// commands wait longer than MaxQueueDelay refuses them with an
// *OverloadError carrying a retry hint, and appends nothing.
func TestCommandsPastTheQueueDelayAreRefusedAndStoreNothing(t *testing.T) {
	t.Parallel()
	e := newEngine(t)
	first := e.sendTo(t, "ann", "bob", "before", "c0")
	cmds, err := command.NewCommands(command.Config{Store: e.store, History: e.rm, Policy: e.policy,
		Admission: command.AdmissionConfig{MaxQueueDelay: time.Nanosecond, MaxInFlight: 1}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = cmds.Send.Handle(context.Background(), command.Send{Meta: as("ann"), SessionID: first.SessionID,
		MessageType: 1, Content: "refused", ClientMessageID: "c1"})
	var over *command.OverloadError
	if !errors.As(err, &over) || over.RetryAfter <= 0 {
		t.Fatalf("send on an overloaded node: %v, want an OverloadError with a retry hint", err)
	}
	recs, err := e.store.ReadStream(context.Background(), first.SessionID, 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 2 { // SessionCreated and the first message
		t.Fatalf("stream holds %d events after the refusal, want 2", len(recs))
	}
}

// TestInFlightBoundRefusesAtOnce: past MaxInFlight commands started and not
// answered, a command is refused before it is queued.
func TestInFlightBoundRefusesAtOnce(t *testing.T) {
	t.Parallel()
	e := newEngine(t)
	first := e.sendTo(t, "ann", "bob", "before", "c0")
	cmds, err := command.NewCommands(command.Config{Store: e.store, History: e.rm, Policy: e.policy,
		Admission: command.AdmissionConfig{MaxInFlight: 1}})
	if err != nil {
		t.Fatal(err)
	}
	// Hold the session's lock with a View that waits, so that the first
	// send stays in flight.
	release := make(chan struct{})
	viewing := make(chan struct{})
	go func() {
		_ = cmds.Sessions.View(context.Background(), first.SessionID, func(_ *domain.Session) {
			close(viewing)
			<-release
		})
	}()
	<-viewing
	ctx := context.Background()
	inFlight := cmds.Send.Start(ctx, command.Send{Meta: as("ann"), SessionID: first.SessionID, MessageType: 1,
		Content: "in flight", ClientMessageID: "c1"}, nil)
	_, err = cmds.Send.Handle(ctx, command.Send{Meta: as("bob"), SessionID: first.SessionID, MessageType: 1,
		Content: "one too many", ClientMessageID: "c2"})
	var over *command.OverloadError
	if !errors.As(err, &over) {
		t.Fatalf("second send while one is in flight: %v, want an OverloadError", err)
	}
	close(release)
	if ack, err := inFlight.Wait(); err != nil || ack.Seq != first.Seq+1 {
		t.Fatalf("the send in flight: %+v, %v; want seq %d", ack, err, first.Seq+1)
	}
	if _, err := cmds.Send.Handle(ctx, command.Send{Meta: as("bob"), SessionID: first.SessionID, MessageType: 1,
		Content: "now there is room", ClientMessageID: "c2"}); err != nil {
		t.Fatalf("send once the first was answered: %v", err)
	}
}

// TestRefusalClosesTheGateForLaterCommands: once one of a connection's
// pipelined sends is refused, the ones it queued before the retry time are
// refused too, so that the client's resends keep its order; sends queued
// after the retry time go through.
func TestRefusalClosesTheGateForLaterCommands(t *testing.T) {
	t.Parallel()
	e := newEngine(t)
	first := e.sendTo(t, "ann", "bob", "before", "c0")
	// A retry hint long enough that the gate is still closed for send 3
	// however slowly the test runs.
	cmds, err := command.NewCommands(command.Config{Store: e.store, History: e.rm, Policy: e.policy,
		Admission: command.AdmissionConfig{MaxInFlight: 1, MinRetryAfter: 3 * time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	viewing := make(chan struct{})
	go func() {
		_ = cmds.Sessions.View(context.Background(), first.SessionID, func(_ *domain.Session) {
			close(viewing)
			<-release
		})
	}()
	<-viewing
	ctx := context.Background()
	gate := &command.Gate{}
	send := func(n int) *command.Pending[command.SendAck] {
		return cmds.Send.Start(ctx, command.Send{Meta: as("ann"), SessionID: first.SessionID, MessageType: 1,
			Content: fmt.Sprint(n), ClientMessageID: fmt.Sprint("p", n)}, gate)
	}
	admitted := send(1) // holds the one slot
	refused := send(2)  // over the bound: refused, and the gate closes
	_, err = refused.Wait()
	var over *command.OverloadError
	if !errors.As(err, &over) {
		t.Fatalf("send 2: %v, want an OverloadError", err)
	}
	close(release)
	if _, err := admitted.Wait(); err != nil {
		t.Fatal(err)
	}
	// Room again, but the gate is still closed for what the client queued
	// before the retry time.
	if _, err := send(3).Wait(); !errors.As(err, &over) {
		t.Fatalf("send 3 before the retry time: %v, want an OverloadError", err)
	}
	time.Sleep(over.RetryAfter)
	if ack, err := send(2).Wait(); err != nil || ack.Seq != first.Seq+2 {
		t.Fatalf("send 2 again after the retry time: %+v, %v; want seq %d", ack, err, first.Seq+2)
	}
}
