package jsmsg_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/tellyou/tellyou/handlers/jsmsg"
)

// newStream makes a memory stream of its own on the test NATS server, with n
// messages published on it, deleted when the test ends.
func newStream(t *testing.T, n int) (jetstream.JetStream, string) {
	t.Helper()
	nc, err := nats.Connect("nats://127.0.0.1:4222")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	name := "jsmsgtest_" + hex.EncodeToString(b)
	ctx := t.Context()
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: name, Subjects: []string{name}, Storage: jetstream.MemoryStorage}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = js.DeleteStream(ctx, name)
	})
	for i := range n {
		if _, err := js.Publish(ctx, name, []byte(fmt.Sprint(i))); err != nil {
			t.Fatal(err)
		}
	}
	return js, name
}

func consumer(t *testing.T, js jetstream.JetStream, stream string, maxAckPending int) jetstream.Consumer {
	t.Helper()
	c, err := js.CreateOrUpdateConsumer(t.Context(), stream, jetstream.ConsumerConfig{
		AckPolicy: jetstream.AckExplicitPolicy, AckWait: 30 * time.Second, InactiveThreshold: time.Minute,
		MaxAckPending: maxAckPending})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// Messages come in order, one at a time; a Nack has the message come again,
// before later ones when the consumer lets one message be pending.
func TestConsumeInOrderWithRedeliveryOnNack(t *testing.T) {
	t.Parallel()
	js, stream := newStream(t, 5)
	ctx, cancel := context.WithCancel(t.Context())
	out, done, err := jsmsg.Consume(ctx, consumer(t, js, stream, 1), jsmsg.Options{ConfirmAcks: true})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	nacked := false
	for len(got) < 5 {
		select {
		case m := <-out:
			if string(m.Payload) == "2" && !nacked {
				nacked = true
				m.Nack()
				continue
			}
			got = append(got, string(m.Payload))
			m.Ack()
		case <-time.After(30 * time.Second):
			t.Fatalf("got %v after 30s", got)
		}
	}
	if fmt.Sprint(got) != "[0 1 2 3 4]" || !nacked {
		t.Fatalf("got %v (nacked %v), want [0 1 2 3 4] with 2 nacked once", got, nacked)
	}
	cancel()
	<-done
	if _, open := <-out; open {
		t.Fatal("channel still open after the context ended")
	}
}

// Ending subscriptions while messages are on their way never sends on a
// closed channel (the race of watermill-nats' pkg/jetstream Subscriber):
// run with -race.
func TestEndingWhileMessagesFlow(t *testing.T) {
	t.Parallel()
	js, stream := newStream(t, 200)
	for round := range 20 {
		ctx, cancel := context.WithCancel(t.Context())
		out, done, err := jsmsg.Consume(ctx, consumer(t, js, stream, 0), jsmsg.Options{})
		if err != nil {
			t.Fatal(err)
		}
		for i := range round % 5 {
			select {
			case m := <-out:
				m.Ack()
			case <-time.After(30 * time.Second):
				t.Fatalf("round %d: message %d did not come", round, i)
			}
		}
		cancel()
		for range out { // drain until closed
		}
		<-done
	}
}
