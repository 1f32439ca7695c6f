package pgstore_test

import (
	"context"
	"os"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tellyou/tellyou/events"
	"github.com/tellyou/tellyou/events/pgstore"
	"github.com/tellyou/tellyou/events/pgstore/pgtest"
)

// TestMigrateConcurrentlyAndAgain migrates one database from several
// "processes" (pools) at once, then again: every run succeeds and the schema
// is applied once.
func TestMigrateConcurrentlyAndAgain(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	pool := pgtest.NewPool(t)

	const processes = 6
	var wg sync.WaitGroup
	errs := make(chan error, processes)
	for range processes {
		other, err := pgxpool.NewWithConfig(ctx, pool.Config())
		if err != nil {
			t.Fatal(err)
		}
		defer other.Close()
		wg.Go(func() { errs <- pgstore.Migrate(ctx, other) })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("concurrent migration: %v", err)
		}
	}
	if err := pgstore.Migrate(ctx, pool); err != nil {
		t.Fatalf("migrate a migrated database: %v", err)
	}

	var version int
	if err := pool.QueryRow(ctx, "SELECT version FROM "+pgstore.VersionTable).Scan(&version); err != nil {
		t.Fatal(err)
	}
	if version != 3 {
		t.Errorf("schema version %d, want 3", version)
	}
	s, err := pgstore.New(ctx, pool, pgstore.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Append(ctx, "after-migrations", events.NoStream, []events.EventData{event("e")}); err != nil {
		t.Fatalf("append after migrations: %v", err)
	}
}

// TestMigrationKeepsPositionsOfOlderEvents migrates a log written with the
// first schema, whose positions derive from transaction ids: the old events
// keep their positions, and new ones are appended above the highest, so a
// reader that had read up to it misses nothing.
func TestMigrationKeepsPositionsOfOlderEvents(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	pool := pgtest.NewPool(t)
	first, err := os.ReadFile("migrations/001_create_event_log.sql")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, string(first)); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, "CREATE TABLE "+pgstore.VersionTable+" (version int4 NOT NULL); INSERT INTO "+pgstore.VersionTable+" VALUES (1)"); err != nil {
		t.Fatal(err)
	}
	old := event("old")
	var oldPosition int64
	err = pool.QueryRow(ctx, `WITH v AS (INSERT INTO tellyou_streams VALUES ('s', 1) RETURNING version)
		INSERT INTO tellyou_events (position, stream_id, version, event_id, type, data, metadata)
		SELECT pg_current_xact_id()::text::bigint << 20, 's', v.version, $1, $2, $3::json, $4::json FROM v
		RETURNING position`, old.EventID, old.Type, string(old.Data), string(old.Metadata)).Scan(&oldPosition)
	if err != nil {
		t.Fatal(err)
	}

	if err := pgstore.Migrate(ctx, pool); err != nil {
		t.Fatal(err)
	}
	s, err := pgstore.New(ctx, pool, pgstore.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if head, err := s.Head(ctx); err != nil || head != events.Position(oldPosition) {
		t.Fatalf("head after migration = %d, %v; want the old event's %d", head, err, oldPosition)
	}
	res, err := s.Append(ctx, "s", 1, []events.EventData{event("new")})
	if err != nil {
		t.Fatal(err)
	}
	if res.Position != events.Position(oldPosition+1) {
		t.Fatalf("new event at %d, want %d", res.Position, oldPosition+1)
	}
	after, err := s.ReadAll(ctx, events.Position(oldPosition), 0)
	if err != nil || len(after) != 1 || after[0].Version != 2 {
		t.Fatalf("read after the old event: %+v, %v; want the new event", after, err)
	}
}

func TestNewRefusesUnmigratedDatabase(t *testing.T) {
	t.Parallel()
	if _, err := pgstore.New(context.Background(), pgtest.NewPool(t), pgstore.Config{}); err == nil {
		t.Fatal("New on a database without the event tables succeeded")
	}
}
