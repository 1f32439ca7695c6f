// Package lease lets one process at a time, among every process sharing a
// PostgreSQL database, do a piece of work: run a projection, publish the feed.
//
// A lease is a PostgreSQL session advisory lock on a connection of its own,
// outside any pool, held while the work runs. A process that dies closes its
// connection and the server releases the lock, so a standby takes over at its
// next try. The holder checks its connection periodically and stops the work
// when the check fails: the server has then released the lock, or will once it
// notices. Leases spare standbys the work; correctness must not depend on
// them, since two holders can overlap for the length of a check.
package lease

import (
	"context"
	"fmt"
	"hash/fnv"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// minCheckTimeout is the least time a check of the lease's connection gets
// before the lease counts as lost, however short the check interval: a busy
// database is not a lost one.
const minCheckTimeout = 5 * time.Second

// Config says which lease to hold and how.
type Config struct {
	// Pool's connection settings open the lease's own connection.
	Pool *pgxpool.Pool
	// Key names the lease: FNV-1a of it is the advisory lock key. Give it a
	// namespace ("tellyou.projection.lease:history") so that other users of
	// advisory locks in the database are unlikely to collide with it.
	Key string
	// Retry is how often a standby tries to take the lease and a holder
	// checks its connection.
	Retry time.Duration

	// Taken, when set, is called when the lease is taken, before the work.
	Taken func()
	// Lost, when set, is called when a check fails; the work's context is
	// then cancelled.
	Lost func(err error)
	// Released, when set, is called once the work has returned and the lease
	// is given up.
	Released func()
	// Unavailable, when set, is called when a try fails with an error (the
	// database cannot be reached, say), rather than finding the lease held.
	Unavailable func(err error)
	// Waiting, when set, is called after each try that did not take the
	// lease, before the pause.
	Waiting func(ctx context.Context)
}

// Hold runs work each time it holds the lease, until ctx ends, competing for
// the lease in between. work must return once its context ends.
func Hold(ctx context.Context, cfg Config, work func(ctx context.Context)) {
	for ctx.Err() == nil {
		conn := acquire(ctx, cfg)
		if conn == nil {
			return
		}
		if cfg.Taken != nil {
			cfg.Taken()
		}
		workCtx, cancel := context.WithCancel(ctx)
		var wg sync.WaitGroup
		wg.Go(func() {
			if err := keep(workCtx, conn, cfg.Retry); err != nil {
				if cfg.Lost != nil {
					cfg.Lost(err)
				}
				cancel()
			}
		})
		work(workCtx)
		cancel()
		wg.Wait()
		release(conn)
		if cfg.Released != nil {
			cfg.Released()
		}
	}
}

// key is the advisory lock key of a lease name.
func key(name string) int64 {
	h := fnv.New64a()
	h.Write([]byte(name))
	return int64(h.Sum64())
}

// acquire waits until it holds the lease and returns its connection; nil
// when ctx ended first.
func acquire(ctx context.Context, cfg Config) *pgx.Conn {
	var conn *pgx.Conn
	defer func() {
		if conn != nil {
			_ = conn.Close(context.Background())
		}
	}()
	for {
		var err error
		if conn == nil {
			if conn, err = pgx.ConnectConfig(ctx, cfg.Pool.Config().ConnConfig.Copy()); err != nil {
				conn = nil
			}
		}
		if err == nil {
			var held bool
			if err = conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1)`, key(cfg.Key)).Scan(&held); err == nil && held {
				taken := conn
				conn = nil
				return taken
			}
			if err != nil {
				err = fmt.Errorf("try lease %s: %w", cfg.Key, err)
			}
		}
		if err != nil && ctx.Err() == nil {
			if cfg.Unavailable != nil {
				cfg.Unavailable(err)
			}
			if conn != nil {
				_ = conn.Close(context.Background())
				conn = nil
			}
		}
		if cfg.Waiting != nil {
			cfg.Waiting(ctx)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(cfg.Retry):
		}
	}
}

// keep checks the lease's connection every interval until ctx ends (nil) or
// a check fails (its error).
func keep(ctx context.Context, conn *pgx.Conn, interval time.Duration) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		checkCtx, cancel := context.WithTimeout(ctx, max(interval, minCheckTimeout))
		err := conn.Ping(checkCtx)
		cancel()
		if err != nil && ctx.Err() == nil {
			return fmt.Errorf("check lease connection: %w", err)
		}
	}
}

// release gives the lease up by closing its connection.
func release(conn *pgx.Conn) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = conn.Close(ctx)
}
