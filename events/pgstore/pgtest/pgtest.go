// Package pgtest gives each test its own PostgreSQL database on the machine's real
// server and drops it when the test ends.
//
// The server is found through TELLYOU_TEST_DATABASE_URL (default
// postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable); the user needs
// the right to create databases.
package pgtest

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// DefaultAdminURL is used when TELLYOU_TEST_DATABASE_URL is unset.
const DefaultAdminURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// AdminURL returns the URL of the server's maintenance database used to create
// and drop test databases.
func AdminURL() string {
	if u := os.Getenv("TELLYOU_TEST_DATABASE_URL"); u != "" {
		return u
	}
	return DefaultAdminURL
}

// NewDatabase creates an empty database for the calling test and returns its URL.
// The database is dropped (with any connection left to it) when the test ends.
func NewDatabase(tb testing.TB) string {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	admin := AdminURL()
	name := "tellyou_test_" + strings.ReplaceAll(uuid.NewString(), "-", "")[:16]
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		tb.Fatalf("connect to test PostgreSQL at %s: %v", admin, err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		tb.Fatalf("create test database %s: %v", name, err)
	}
	// Readers of the global log wait for the oldest write transaction on the
	// whole server; a test that leaves one open must not stall the others long.
	if _, err := conn.Exec(ctx, "ALTER DATABASE "+pgx.Identifier{name}.Sanitize()+" SET idle_in_transaction_session_timeout = '30s'"); err != nil {
		tb.Fatalf("configure test database %s: %v", name, err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, admin)
		if err != nil {
			tb.Errorf("connect to drop test database %s: %v", name, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
			tb.Errorf("drop test database %s: %v", name, err)
		}
	})
	cfg, err := pgx.ParseConfig(admin)
	if err != nil {
		tb.Fatalf("parse %s: %v", admin, err)
	}
	return replaceDatabase(admin, cfg.Database, name)
}

// NewPool creates a fresh database (as NewDatabase) and a pool connected to it,
// closed when the test ends.
func NewPool(tb testing.TB) *pgxpool.Pool {
	tb.Helper()
	url := NewDatabase(tb)
	pool, err := pgxpool.New(context.Background(), url)
	if err != nil {
		tb.Fatalf("open pool on %s: %v", url, err)
	}
	tb.Cleanup(pool.Close)
	return pool
}

// NewPoolOf is NewPool with at most maxConns connections: the test server's
// connections are shared by every test running at once.
func NewPoolOf(tb testing.TB, maxConns int32) *pgxpool.Pool {
	tb.Helper()
	return OpenPool(tb, NewDatabase(tb), maxConns)
}

// OpenPool opens a pool of at most maxConns connections on url, closed when
// the test ends.
func OpenPool(tb testing.TB, url string, maxConns int32) *pgxpool.Pool {
	tb.Helper()
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		tb.Fatalf("parse %s: %v", url, err)
	}
	cfg.MaxConns = maxConns
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		tb.Fatalf("open pool on %s: %v", url, err)
	}
	tb.Cleanup(pool.Close)
	return pool
}

func replaceDatabase(url, oldName, newName string) string {
	// URL form: .../<db>?params or .../<db>
	path := url
	query := ""
	if i := strings.IndexByte(url, '?'); i >= 0 {
		path, query = url[:i], url[i:]
	}
	if oldName != "" && strings.HasSuffix(path, "/"+oldName) {
		return strings.TrimSuffix(path, oldName) + newName + query
	}
	return fmt.Sprintf("%s/%s%s", strings.TrimSuffix(path, "/"), newName, query)
}
