package feedbus_test

import (
	"context"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/tellyou/tellyou/handlers/eventview"
	"github.com/tellyou/tellyou/handlers/feedbus"
)

// receive reads n messages, acking each, and returns their events.
func receive(t *testing.T, msgs <-chan *message.Message, n int) []eventview.Event {
	t.Helper()
	var out []eventview.Event
	timeout := time.After(patience)
	for len(out) < n {
		select {
		case m, ok := <-msgs:
			if !ok {
				t.Fatalf("subscription closed after %d of %d messages", len(out), n)
			}
			e, err := feedbus.ReadMessage(m)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, e)
			m.Ack()
		case <-timeout:
			t.Fatalf("received %d of %d messages in %v", len(out), n, patience)
		}
	}
	return out
}

func TestDurableSubscriberResumesAfterItsLastAck(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	appendMessages(t, e.store, "d:ann:bob", 0, 10)
	recs := readLog(t, e.store, 10)
	runRelay(t, e, e.feed.Publisher(), "")
	waitForStream(t, e.feed, 10)

	cfg := feedbus.NATSSubscriberConfig{URL: natsURL(), Topic: e.feed.Topic(), Durable: "resume",
		// The seventh message is delivered, and never acked, before the
		// first subscriber stops: the later one gets it after AckWait.
		AckWait: time.Second, Logger: testLogger(t)}
	sub, err := feedbus.NewNATSSubscriber(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := sub.DeleteConsumer(context.Background()); err != nil {
			t.Error(err)
		}
		_ = sub.Close()
	})
	ctx, cancel := context.WithCancel(context.Background())
	msgs, err := sub.Subscribe(ctx, e.feed.Topic())
	if err != nil {
		t.Fatal(err)
	}
	got := receive(t, msgs, 6)
	// Acks go out after the message is handed over; stopping before the
	// sixth is acked would have it delivered again (at least once).
	waitFor(t, patience, "the sixth ack to reach the server", func() bool {
		c, err := e.feed.JetStream().Consumer(context.Background(), e.feed.Stream(), "resume")
		if err != nil {
			t.Fatal(err)
		}
		info, err := c.Info(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return info.AckFloor.Stream == 6
	})
	cancel()

	// A later subscriber under the same name goes on after the sixth event,
	// also with events appended while nobody read.
	appendMessages(t, e.store, "d:ann:bob", 10, 2)
	recs = readLog(t, e.store, 12)
	waitForStream(t, e.feed, 12)
	later, err := feedbus.NewNATSSubscriber(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer later.Close()
	ctx, cancel = context.WithCancel(context.Background())
	defer cancel()
	msgs, err = later.Subscribe(ctx, e.feed.Topic())
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, receive(t, msgs, 6)...)
	for i, ev := range got {
		if ev.GlobalPosition != int64(recs[i].Position) {
			t.Fatalf("event %d at position %d, want %d (no repeats, no gaps)", i, ev.GlobalPosition, recs[i].Position)
		}
	}
	if _, err := later.Subscribe(ctx, "another.topic"); err == nil {
		t.Fatal("subscribing to another topic accepted")
	}
}
