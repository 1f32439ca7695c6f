package push_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"
	"github.com/ThreeDotsLabs/watermill/pubsub/gochannel"
	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/tellyou/tellyou/handlers/push"
)

// unreachableDatabase stands for the read models' database being out of
// reach for the lookups of one session's members: those fail, others are
// answered.
type unreachableDatabase struct {
	session string
	panics  bool
}

func (u unreachableDatabase) Members(_ context.Context, sessionID string) ([]string, error) {
	if sessionID == u.session {
		if u.panics {
			panic("member lookup panicked")
		}
		return nil, errors.New("dial tcp 127.0.0.1:5432: connect: connection refused")
	}
	return []string{"ann", "bob"}, nil
}

// deadLetterQueue is a GoChannel that keeps what is published on the
// dead-letter topic for the test to read.
func deadLetterQueue(t *testing.T) (*gochannel.GoChannel, <-chan *message.Message) {
	t.Helper()
	q := gochannel.NewGoChannel(gochannel.Config{Persistent: true}, watermill.NopLogger{})
	t.Cleanup(func() { _ = q.Close() })
	letters, err := q.Subscribe(context.Background(), push.DefaultDeadLetterTopic)
	if err != nil {
		t.Fatal(err)
	}
	return q, letters
}

func TestHubDeadLettersWhatItCannotPushAndGoesOn(t *testing.T) {
	t.Parallel()
	broken, fine := "g:"+uuid.NewString(), "g:"+uuid.NewString()
	q, letters := deadLetterQueue(t)
	e := newHubEnvWith(t, push.Options{MaxRetries: 3, RetryInterval: time.Millisecond, DeadLetters: q},
		unreachableDatabase{session: broken})
	bob := &outbox{}
	e.hub.Register("bob", bob)
	d := "d:ann:bob"

	e.publish(fine, sent(fine, 1, "ann"))
	lost := e.publish(broken, sent(broken, 1, "ann"))
	e.publish(d, sent(d, 1, "ann"))
	e.publish(fine, sent(fine, 2, "ann"))
	e.publish(broken, sent(broken, 2, "ann")) // tried again: it is not a copy of one handled
	e.publish(d, sent(d, 2, "ann"))

	if got := fmt.Sprint(bob.seqsBySession()); got != fmt.Sprintf("map[%s:[1 2] %s:[1 2]]", d, fine) {
		t.Fatalf("bob got %s; other sessions' pushes must flow, in seq order", got)
	}
	// Each of the broken session's events: one try and three retries.
	if n := e.lookups.Load(); n != 1+2*4 {
		t.Fatalf("%d member lookups, want 1 for the fine group and 4 for each broken event", n)
	}
	for _, want := range []string{lost.UUID, ""} {
		letter := expectDeadLetter(t, letters)
		if want != "" && letter.UUID != want {
			t.Fatalf("dead letter %s, want the event %s", letter.UUID, want)
		}
		reason := letter.Metadata.Get(middleware.ReasonForPoisonedKey)
		if !strings.Contains(reason, "resolve members of "+broken) || !strings.Contains(reason, "connection refused") {
			t.Fatalf("dead letter reason %q, want the failed member lookup", reason)
		}
		if letter.Metadata.Get(middleware.PoisonedTopicKey) != push.DefaultEventsTopic {
			t.Fatalf("dead letter metadata %v", letter.Metadata)
		}
	}
	if n := testutil.ToFloat64(e.metrics.DeadLetters); n != 2 {
		t.Fatalf("tellyou_dead_letters_total = %v, want 2", n)
	}
}

func TestHubDeadLettersUndecodableEventsAndPanics(t *testing.T) {
	t.Parallel()
	panicky := "g:" + uuid.NewString()
	q, letters := deadLetterQueue(t)
	e := newHubEnvWith(t, push.Options{MaxRetries: 1, RetryInterval: time.Millisecond, DeadLetters: q},
		unreachableDatabase{session: panicky, panics: true})
	bob := &outbox{}
	e.hub.Register("bob", bob)

	garbage := message.NewMessage(uuid.NewString(), []byte("not an event"))
	e.republish(garbage)
	if letter := expectDeadLetter(t, letters); letter.UUID != garbage.UUID ||
		!strings.Contains(letter.Metadata.Get(middleware.ReasonForPoisonedKey), "decode bus message") {
		t.Fatalf("dead letter %s with %v, want the undecodable message", letter.UUID, letter.Metadata)
	}
	e.publish(panicky, sent(panicky, 1, "ann"))
	if letter := expectDeadLetter(t, letters); !strings.Contains(letter.Metadata.Get(middleware.ReasonForPoisonedKey), "member lookup panicked") {
		t.Fatalf("dead letter %v, want the panic", letter.Metadata)
	}
	d := "d:ann:bob"
	e.publish(d, sent(d, 1, "ann"))
	if got := bob.seqs(); fmt.Sprint(got) != "[1]" {
		t.Fatalf("bob got %v after the failures", got)
	}
	if n := testutil.ToFloat64(e.metrics.DeadLetters); n != 2 {
		t.Fatalf("tellyou_dead_letters_total = %v, want 2", n)
	}
}

// TestHubDeadLettersNothingWhenItStops: an event being retried when the hub
// stops is not given up on; it is simply not pushed by this hub.
func TestHubDeadLettersNothingWhenItStops(t *testing.T) {
	t.Parallel()
	slow := "g:" + uuid.NewString()
	q, letters := deadLetterQueue(t)
	e := newHubEnvWith(t, push.Options{MaxRetries: 3, RetryInterval: time.Hour, DeadLetters: q},
		unreachableDatabase{session: slow})
	e.hub.Register("bob", &outbox{})
	m := e.message(slow, sent(slow, 1, "ann"))
	go func() { _ = e.bus.Publish(push.DefaultEventsTopic, m) }()
	waitFor(t, func() bool { return e.lookups.Load() == 1 }) // now waiting an hour to retry
	if err := e.stop(); err != nil {
		t.Fatalf("Run returned %v", err)
	}
	select {
	case letter := <-letters:
		t.Fatalf("stopping dead-lettered %s: %v", letter.UUID, letter.Metadata)
	case <-time.After(100 * time.Millisecond):
	}
	if n := testutil.ToFloat64(e.metrics.DeadLetters); n != 0 {
		t.Fatalf("tellyou_dead_letters_total = %v, want 0", n)
	}
}

func TestHubRunFailsWhenItsSubscriptionEnds(t *testing.T) {
	t.Parallel()
	e := newHubEnv(t, push.Options{})
	_ = e.bus.Close() // the bus goes away under the hub
	select {
	case <-e.finished:
		if e.runErr == nil || !strings.Contains(e.runErr.Error(), "ended") {
			t.Fatalf("Run returned %v, want the subscription's end", e.runErr)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not return")
	}
	e.stop = func() error { return nil } // reported above
}

func expectDeadLetter(t *testing.T, letters <-chan *message.Message) *message.Message {
	t.Helper()
	select {
	case m := <-letters:
		m.Ack()
		return m
	case <-time.After(30 * time.Second):
		t.Fatal("no dead letter within 30s")
		return nil
	}
}
