package push_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/pubsub/gochannel"

	"github.com/tellyou/tellyou/events"
	"github.com/tellyou/tellyou/handlers"
	"github.com/tellyou/tellyou/handlers/handlerstest"
	"github.com/tellyou/tellyou/handlers/push"
	"github.com/tellyou/tellyou/handlers/wire"
)

func TestFollowerPublishesOnlyWhatIsAppendedAfterItStarts(t *testing.T) {
	t.Parallel()
	eng := handlerstest.New(t, handlerstest.Options{})
	send := func(content string) {
		t.Helper()
		if _, err := eng.Commands.Send.Handle(context.Background(), handlers.Send{Meta: handlers.RequestMeta{Actor: "ann"},
			ToUserID: "bob", MessageType: 1, Content: content, ClientMessageID: content}); err != nil {
			t.Fatal(err)
		}
	}
	send("history")
	// The head the follower starts from is the last event whose place in the
	// log is final, which may trail a commit while other transactions on the
	// server run: wait until the history is final.
	ctx := context.Background()
	recs, err := eng.Store.ReadStream(ctx, "d:ann:bob", 1, 10)
	if err != nil {
		t.Fatal(err)
	}
	for {
		head, err := eng.Store.Head(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if head >= recs[len(recs)-1].Position {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}

	bus := gochannel.NewGoChannel(gochannel.Config{BlockPublishUntilSubscriberAck: true}, watermill.NopLogger{})
	t.Cleanup(func() { _ = bus.Close() })
	f, err := push.NewFollower(push.FollowerConfig{Store: eng.Store, Publisher: bus})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(ctx)
	msgs, err := bus.Subscribe(ctx, push.DefaultEventsTopic)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- f.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	<-f.Ready()
	send("live 1")
	send("live 2")

	for _, want := range []string{"live 1", "live 2"} {
		select {
		case m := <-msgs:
			var a wire.AuditEvent
			if err := json.Unmarshal(m.Payload, &a); err != nil {
				t.Fatal(err)
			}
			r := events.RecordedEvent{StreamID: a.StreamID, Version: a.Version, Type: a.Type, Data: a.Data, Metadata: a.Metadata}
			env, err := events.Decode(r)
			if err != nil {
				t.Fatal(err)
			}
			got, ok := env.Payload.(events.MessageSent)
			if !ok || got.Content != want || a.StreamID != "d:ann:bob" || a.GlobalPosition == 0 || m.UUID != env.Meta.EventID.String() {
				t.Fatalf("published %s (%s), want the MessageSent of %q with the event id as message id", a.Type, m.Payload, want)
			}
			m.Ack()
		case <-time.After(30 * time.Second):
			t.Fatal(fmt.Sprintf("%q not published", want))
		}
	}
}
