package push_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/pubsub/gochannel"
	"github.com/google/uuid"

	"github.com/tellyou/tellyou/events"
	"github.com/tellyou/tellyou/handlers/metrics"
	"github.com/tellyou/tellyou/handlers/push"
	"github.com/tellyou/tellyou/handlers/wire"
)

// BenchmarkHubDiscardsForeignEvents measures what broadcasting every event to
// every node costs a node: the events/s one hub handles when none of the
// members of their sessions is connected to it (someone else is, so the hub
// does look at each event). It bounds the routing decision in cmd/tellyou's
// openBus.
func BenchmarkHubDiscardsForeignEvents(b *testing.B) {
	bus := gochannel.NewGoChannel(gochannel.Config{BlockPublishUntilSubscriberAck: true}, watermill.NopLogger{})
	defer bus.Close()
	hub, err := push.NewHub(push.HubConfig{Subscriber: bus, Publisher: bus, Metrics: metrics.New(),
		Members: membersFunc(func(context.Context, string) ([]string, error) { return []string{"ann", "bob"}, nil }),
		Logger:  slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- hub.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			b.Error(err)
		}
	}()
	<-hub.Ready()
	c := hub.Register("zed", &outbox{})
	defer c.Unregister()

	sessions := make([]string, 1000)
	for i := range sessions {
		sessionID := "g:" + uuid.NewString()
		sessions[i] = sessionID
	}
	msgs := make([]*message.Message, b.N)
	for i := range msgs {
		sessionID := sessions[i%len(sessions)]
		seq := int64(i/len(sessions) + 1)
		p := sent(sessionID, seq, "ann")
		d, err := events.Encode(events.Envelope{Meta: events.Metadata{Actor: "ann", OccurredAt: time.Now().UnixMilli()}, Payload: p})
		if err != nil {
			b.Fatal(err)
		}
		payload, err := json.Marshal(wire.NewAuditEvent(events.RecordedEvent{StreamID: sessionID, Version: seq,
			Position: events.Position(i + 1), EventID: d.EventID, Type: d.Type, Data: d.Data, Metadata: d.Metadata}))
		if err != nil {
			b.Fatal(err)
		}
		msgs[i] = message.NewMessage(d.EventID.String(), payload)
	}
	b.ResetTimer()
	for _, m := range msgs {
		if err := bus.Publish(push.DefaultEventsTopic, m); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}
