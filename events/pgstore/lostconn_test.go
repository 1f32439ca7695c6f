package pgstore_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tellyou/tellyou/events"
	"github.com/tellyou/tellyou/events/pgstore"
	"github.com/tellyou/tellyou/events/pgstore/pgtest"
)

// TestAppendOutlivesDeadPooledConnections kills every connection of the
// store's pool under it, as a restart of the server does: the next append is
// answered by the server as it is now, not refused for a connection that has
// died.
func TestAppendOutlivesDeadPooledConnections(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	pool := pgtest.NewPool(t)
	s := newStore(t, pool, pgstore.Config{})
	if _, err := s.Append(ctx, "s", events.NoStream, []events.EventData{event("a")}); err != nil {
		t.Fatal(err)
	}
	fillPool(t, pool)

	other := otherPool(t, pool)
	var killed int
	if err := other.QueryRow(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE datname = current_database() AND pid <> pg_backend_pid() AND query NOT ILIKE 'listen%'`).Scan(&killed); err != nil {
		t.Fatal(err)
	}
	if killed < 2 {
		t.Fatalf("killed %d pooled connections, want several", killed)
	}
	res, err := s.Append(ctx, "s", 1, []events.EventData{event("b")})
	if err != nil || res.LastVersion != 2 || res.Duplicate {
		t.Fatalf("append after the pool's connections died = %+v, %v; want version 2", res, err)
	}
}

// fillPool makes the pool hold several idle connections, all used just now.
func fillPool(t *testing.T, pool *pgxpool.Pool) {
	t.Helper()
	var conns []*pgxpool.Conn
	for range 3 {
		c, err := pool.Acquire(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	for _, c := range conns {
		if _, err := c.Exec(context.Background(), "SELECT 1"); err != nil {
			t.Fatal(err)
		}
		c.Release()
	}
}
