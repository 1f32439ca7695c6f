package push_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync/atomic"
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

// socketWriterStub stands for a connection's socket writer: it takes every
// frame and only counts it, so that the benchmark measures the hub and not
// the network.
type socketWriterStub struct{ frames *atomic.Int64 }

func (w socketWriterStub) Queued() int { return 0 }

func (w socketWriterStub) Enqueue([]byte) bool {
	w.frames.Add(1)
	return true
}

// BenchmarkFanOut measures the hub delivering a group's messages to members
// connected to this node: decode the event from the bus, encode the frame
// once, enqueue it on each of N connections (one per member) and track it for
// redelivery, through watermill's router on the in-process GoChannel. One op
// is one message; deliveries/s counts frames handed to connections.
func BenchmarkFanOut(b *testing.B) {
	for _, n := range []int{10, 100, 500} {
		b.Run(fmt.Sprintf("connections=%d", n), func(b *testing.B) {
			members := make([]string, n+1)
			members[0] = "ann" // the sender, not connected here
			for i := 1; i <= n; i++ {
				members[i] = fmt.Sprintf("member%03d", i)
			}
			bus := gochannel.NewGoChannel(gochannel.Config{BlockPublishUntilSubscriberAck: true}, watermill.NopLogger{})
			defer bus.Close()
			hub, err := push.NewHub(push.HubConfig{Subscriber: bus, Publisher: bus, Metrics: metrics.New(),
				// No redelivery while the benchmark runs: only first deliveries are counted.
				Options: push.Options{RedeliveryTimeout: time.Hour},
				Members: membersFunc(func(context.Context, string) ([]string, error) { return members, nil }),
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
			var frames atomic.Int64
			for _, m := range members[1:] {
				c := hub.Register(m, socketWriterStub{&frames})
				defer c.Unregister()
			}

			sessionID := "g:" + uuid.NewString()
			msgs := make([]*message.Message, b.N)
			for i := range msgs {
				msgs[i] = fanOutMessage(b, sessionID, int64(i+1))
			}
			b.ReportAllocs()
			b.ResetTimer()
			for _, m := range msgs {
				if err := bus.Publish(push.DefaultEventsTopic, m); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			if got, want := frames.Load(), int64(n*b.N); got != want {
				b.Fatalf("%d frames delivered, want %d", got, want)
			}
			b.ReportMetric(float64(frames.Load())/b.Elapsed().Seconds(), "deliveries/s")
		})
	}
}

// fanOutMessage is a MessageSent from ann as the follower publishes it.
func fanOutMessage(b *testing.B, sessionID string, seq int64) *message.Message {
	d, err := events.Encode(events.Envelope{Meta: events.Metadata{Actor: "ann", OccurredAt: time.Now().UnixMilli()},
		Payload: sent(sessionID, seq, "ann")})
	if err != nil {
		b.Fatal(err)
	}
	payload, err := json.Marshal(wire.NewAuditEvent(events.RecordedEvent{StreamID: sessionID, Version: seq,
		Position: events.Position(seq), EventID: d.EventID, Type: d.Type, Data: d.Data, Metadata: d.Metadata}))
	if err != nil {
		b.Fatal(err)
	}
	return message.NewMessage(d.EventID.String(), payload)
}
