// Package feedbustest gives tests of the broker feed and its consumers a real
// event store in a database of their own and a feed stream of their own on the
// test NATS server, removed when the test ends.
package feedbustest

import (
	"context"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/tellyou/tellyou/events/pgstore"
	"github.com/tellyou/tellyou/events/pgstore/pgtest"
	"github.com/tellyou/tellyou/handlers/feedbus"
)

// NATSURL is the test NATS server (JetStream enabled): TELLYOU_TEST_NATS_URL,
// or nats://127.0.0.1:4222.
func NATSURL() string {
	if u := os.Getenv("TELLYOU_TEST_NATS_URL"); u != "" {
		return u
	}
	return "nats://127.0.0.1:4222"
}

// Logger sends a component's log to the test's log.
func Logger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(testLog{t}, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

type testLog struct{ t testing.TB }

func (w testLog) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}

// Env is one test's database (event log and feed checkpoints migrated), its
// event store, and a feed stream.
type Env struct {
	Pool  *pgxpool.Pool
	Store *pgstore.Store
	Feed  *feedbus.NATSFeed
}

// New makes an Env whose feed's topic starts with prefix.
func New(t testing.TB, prefix string) *Env {
	t.Helper()
	ctx := context.Background()
	pool := pgtest.NewPoolOf(t, 4)
	for _, migrate := range []func(context.Context, *pgxpool.Pool) error{pgstore.Migrate, feedbus.Migrate} {
		if err := migrate(ctx, pool); err != nil {
			t.Fatal(err)
		}
	}
	store, err := pgstore.New(ctx, pool, pgstore.Config{Logger: Logger(t), Committers: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(store.Close)
	return &Env{Pool: pool, Store: store, Feed: NewFeed(t, prefix)}
}

// NewFeed opens a feed stream, in memory, on a topic no other test uses
// (prefix, a random part, ".feed"); it is deleted when the test ends.
func NewFeed(t testing.TB, prefix string) *feedbus.NATSFeed {
	t.Helper()
	topic := prefix + "_" + strings.ReplaceAll(uuid.NewString(), "-", "")[:12] + ".feed"
	feed, err := feedbus.OpenNATS(context.Background(), feedbus.NATSConfig{
		URL: NATSURL(), Topic: topic, Storage: jetstream.MemoryStorage, MaxBytes: 64 << 20, Logger: Logger(t)})
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

// StreamMessages returns every message the feed's stream holds, in stream
// order.
func StreamMessages(t testing.TB, feed *feedbus.NATSFeed) []*jetstream.RawStreamMsg {
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

// WaitForStream waits, up to timeout, until the stream holds n messages, and
// returns them.
func WaitForStream(t testing.TB, feed *feedbus.NATSFeed, n int, timeout time.Duration) []*jetstream.RawStreamMsg {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		msgs := StreamMessages(t, feed)
		if len(msgs) >= n {
			return msgs
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s holds %d messages after %v, want %d", feed.Stream(), len(msgs), timeout, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
