package feedbus_test

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/tellyou/tellyou/events"
	"github.com/tellyou/tellyou/events/pgstore"
	"github.com/tellyou/tellyou/handlers/feedbus"
	"github.com/tellyou/tellyou/handlers/feedbus/feedbustest"
)

func natsURL() string { return feedbustest.NATSURL() }

func testLogger(t *testing.T) *slog.Logger { return feedbustest.Logger(t) }

// env is one test's database, event store and feed stream.
type env struct {
	pool  *pgxpool.Pool
	store *pgstore.Store
	feed  *feedbus.NATSFeed
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := feedbustest.New(t, "feedtest")
	return &env{pool: e.Pool, store: e.Store, feed: e.Feed}
}

func newFeed(t *testing.T) *feedbus.NATSFeed { return feedbustest.NewFeed(t, "feedtest") }

// appendMessages appends n MessageSent events to session, one append each,
// continuing the stream's seqs from fromSeq+1.
func appendMessages(t *testing.T, store events.Store, session string, fromSeq, n int) {
	t.Helper()
	ctx := context.Background()
	for i := range n {
		seq := int64(fromSeq + i + 1)
		ed, err := events.Encode(events.Envelope{
			Meta: events.Metadata{CorrelationID: "c", CausationID: "f", Actor: "ann", OccurredAt: 1700000000000 + seq},
			Payload: events.MessageSent{SessionID: session, MessageID: uuid.NewString(), Seq: seq, SenderID: "ann",
				MessageType: 1, Content: fmt.Sprintf("<%d> & more", seq), ClientMessageID: "c" + strconv.FormatInt(seq, 10),
				ServerTimestamp: 1700000000000 + seq, AdjustedTimestamp: 1700000000000 + seq},
		})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := store.Append(ctx, session, events.ExpectedVersion(seq-1), []events.EventData{ed}); err != nil {
			t.Fatal(err)
		}
	}
}

// readLog waits until the global log shows n final events and returns them.
func readLog(t *testing.T, store events.Store, n int) []events.RecordedEvent {
	t.Helper()
	var recs []events.RecordedEvent
	waitFor(t, patience, fmt.Sprintf("%d final events in the log", n), func() bool {
		var err error
		if recs, err = store.ReadAll(context.Background(), 0, n+1); err != nil {
			t.Fatal(err)
		}
		return len(recs) >= n
	})
	if len(recs) != n {
		t.Fatalf("the log holds %d events, want %d", len(recs), n)
	}
	return recs
}

func streamMessages(t *testing.T, feed *feedbus.NATSFeed) []*jetstream.RawStreamMsg {
	return feedbustest.StreamMessages(t, feed)
}

func waitForStream(t *testing.T, feed *feedbus.NATSFeed, n int) []*jetstream.RawStreamMsg {
	return feedbustest.WaitForStream(t, feed, n, patience)
}

// waitFor polls cond every 10 ms until it holds, or fails the test after
// timeout.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// recorder is a publisher that passes messages on and remembers the global
// positions of those it passed on successfully.
type recorder struct {
	next message.Publisher

	mu        sync.Mutex
	positions []events.Position
}

func (r *recorder) Publish(topic string, msgs ...*message.Message) error {
	if err := r.next.Publish(topic, msgs...); err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, m := range msgs {
		p, _ := strconv.ParseInt(m.Metadata.Get(feedbus.MetadataPosition), 10, 64)
		r.positions = append(r.positions, events.Position(p))
	}
	return nil
}

func (r *recorder) Close() error { return nil }

func (r *recorder) published() []events.Position {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]events.Position(nil), r.positions...)
}

// runRelay runs a relay in a goroutine until the returned stop is called
// (or the test ends); stop waits for Run to return.
func runRelay(t *testing.T, e *env, pub message.Publisher, name string) (*feedbus.Relay, func()) {
	t.Helper()
	r, err := feedbus.NewRelay(feedbus.RelayConfig{Store: e.store, Pool: e.pool, Publisher: pub,
		Topic: e.feed.Topic(), Name: name, BatchSize: 7, LeaseRetry: 50 * time.Millisecond, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("relay %s: Run: %v", name, err)
			}
		})
	}
	t.Cleanup(stop)
	return r, stop
}

// patience bounds every wait of these tests. Readers of the global log wait
// for the oldest write transaction on the whole PostgreSQL server, which
// other databases' clients may hold open for a while.
const patience = 90 * time.Second
