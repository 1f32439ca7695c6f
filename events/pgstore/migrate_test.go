package pgstore_test

import (
	"context"
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
	if version != 1 {
		t.Errorf("schema version %d, want 1", version)
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

func TestNewRefusesUnmigratedDatabase(t *testing.T) {
	t.Parallel()
	if _, err := pgstore.New(context.Background(), pgtest.NewPool(t), pgstore.Config{}); err == nil {
		t.Fatal("New on a database without the event tables succeeded")
	}
}
