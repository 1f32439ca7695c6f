package pgstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tellyou/tellyou/events"
	"github.com/tellyou/tellyou/events/pgstore"
	"github.com/tellyou/tellyou/events/pgstore/pgtest"
)

// noPolling is a poll interval no test waits for: what arrives came by a
// wake-up.
const noPolling = time.Hour

// TestAppendOnOneNodeWakesSubscriberOnAnother runs two stores on one database,
// as two server nodes would. The second polls too rarely to matter, so its
// subscriber gets the first store's appends through LISTEN/NOTIFY or not at
// all.
func TestAppendOnOneNodeWakesSubscriberOnAnother(t *testing.T) {
	t.Parallel()
	pool := pgtest.NewPool(t)
	writer := newStore(t, pool, pgstore.Config{})
	reader := newStore(t, otherPool(t, pool), pgstore.Config{PollInterval: noPolling})
	delivered := collect(t, reader, 0)

	for i := range 3 {
		// Let the subscriber settle into its wait, so that it is the notice
		// that wakes it. (If it has not, the append is read directly, and the
		// test proves less but still passes.)
		time.Sleep(50 * time.Millisecond)
		appendOne(t, writer, "node-a")
		expectDelivery(t, delivered, int64(i+1))
	}
}

// TestListenerReconnects kills the LISTEN connection of a store; the store
// connects again and its subscriber is still woken by other nodes' appends.
func TestListenerReconnects(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	pool := pgtest.NewPool(t)
	writer := newStore(t, pool, pgstore.Config{})
	reader := newStore(t, otherPool(t, pool), pgstore.Config{PollInterval: noPolling})
	delivered := collect(t, reader, 0)

	var killed int
	err := pool.QueryRow(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE datname = current_database() AND query ILIKE 'listen%'`).Scan(&killed)
	if err != nil || killed != 2 {
		t.Fatalf("terminated %d LISTEN connections, %v; want both stores'", killed, err)
	}
	// Appends while the reader is not listening are caught up on reconnect;
	// those after it arrive by notice.
	appendOne(t, writer, "node-a")
	expectDelivery(t, delivered, 1)
	time.Sleep(50 * time.Millisecond)
	appendOne(t, writer, "node-a")
	expectDelivery(t, delivered, 2)
}

func otherPool(t *testing.T, pool *pgxpool.Pool) *pgxpool.Pool {
	t.Helper()
	other, err := pgxpool.NewWithConfig(context.Background(), pool.Config())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(other.Close)
	return other
}

func appendOne(t *testing.T, s *pgstore.Store, stream string) {
	t.Helper()
	if _, err := s.Append(t.Context(), stream, events.AnyVersion, []events.EventData{event(stream)}); err != nil {
		t.Fatal(err)
	}
}

func expectDelivery(t *testing.T, delivered <-chan events.RecordedEvent, version int64) {
	t.Helper()
	select {
	case e := <-delivered:
		if e.Version != version {
			t.Fatalf("subscriber got version %d, want %d", e.Version, version)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("subscriber polling every %s was not woken for version %d within 30s", noPolling, version)
	}
}
