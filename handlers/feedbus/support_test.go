package feedbus_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/tellyou/tellyou/events"
	"github.com/tellyou/tellyou/events/pgstore"
	"github.com/tellyou/tellyou/events/pgstore/pgtest"
	"github.com/tellyou/tellyou/handlers/feedbus"
)

// natsURL is the test NATS server (JetStream enabled).
func natsURL() string {
	if u := os.Getenv("TELLYOU_TEST_NATS_URL"); u != "" {
		return u
	}
	return "nats://127.0.0.1:4222"
}

// testLogger sends a component's log to the test's log.
func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(testLog{t}, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

type testLog struct{ t *testing.T }

func (w testLog) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}

// env is one test's database, event store and feed stream.
type env struct {
	pool  *pgxpool.Pool
	store *pgstore.Store
	feed  *feedbus.NATSFeed
}

// newEnv makes a fresh database with the event log and the feed's
// checkpoints, and a feed stream of a topic of its own, deleted when the
// test ends.
func newEnv(t *testing.T) *env {
	t.Helper()
	ctx := context.Background()
	url := pgtest.NewDatabase(t)
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	cfg.MaxConns = 4
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	if err := pgstore.Migrate(ctx, pool); err != nil {
		t.Fatal(err)
	}
	if err := feedbus.Migrate(ctx, pool); err != nil {
		t.Fatal(err)
	}
	store, err := pgstore.New(ctx, pool, pgstore.Config{Logger: testLogger(t), Committers: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(store.Close)
	return &env{pool: pool, store: store, feed: newFeed(t)}
}

// newFeed opens a feed stream on a topic no other test uses.
func newFeed(t *testing.T) *feedbus.NATSFeed {
	t.Helper()
	topic := "feedtest_" + strings.ReplaceAll(uuid.NewString(), "-", "")[:12] + ".feed"
	feed, err := feedbus.OpenNATS(context.Background(), feedbus.NATSConfig{
		URL: natsURL(), Topic: topic, Storage: jetstream.MemoryStorage, MaxBytes: 64 << 20, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := feed.DeleteStream(ctx); err != nil {
			t.Error(err)
		}
		_ = feed.Close()
	})
	return feed
}

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

// streamMessages returns every message the feed's stream holds, in stream
// order.
func streamMessages(t *testing.T, feed *feedbus.NATSFeed) []*jetstream.RawStreamMsg {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := feed.JetStream().Stream(ctx, feed.Stream())
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var out []*jetstream.RawStreamMsg
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq && info.State.Msgs > 0; seq++ {
		m, err := s.GetMsg(ctx, seq)
		if err != nil {
			t.Fatalf("get message %d of %s: %v", seq, feed.Stream(), err)
		}
		out = append(out, m)
	}
	return out
}

// waitForStream waits until the stream holds n messages and returns them.
func waitForStream(t *testing.T, feed *feedbus.NATSFeed, n int) []*jetstream.RawStreamMsg {
	t.Helper()
	var msgs []*jetstream.RawStreamMsg
	waitFor(t, patience, fmt.Sprintf("%d messages on %s", n, feed.Stream()), func() bool {
		msgs = streamMessages(t, feed)
		return len(msgs) >= n
	})
	return msgs
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
