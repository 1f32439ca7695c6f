package projections

import (
	"context"
	"fmt"
	"hash/fnv"
	"time"

	"github.com/jackc/pgx/v5"
)

// A lease lets one runner at a time, across every process sharing the
// database, run a projection. It is a PostgreSQL session advisory lock on a
// connection of its own, outside the pool, held while the projection runs: a
// process that dies closes its connection and the server releases the lock,
// so a standby takes over at its next try. Correctness never depends on it
// (batches still serialise on the checkpoint row); it spares standbys from
// reading the log and competing for that row.

// leaseKey is the advisory lock key of a projection: FNV-1a of its name in a
// namespace of ours, so that other users of advisory locks in the database
// are unlikely to collide with it.
func leaseKey(name string) int64 {
	h := fnv.New64a()
	h.Write([]byte("tellyou.projection.lease:" + name))
	return int64(h.Sum64())
}

// lease is a held advisory lock and its connection.
type lease struct {
	conn *pgx.Conn
}

// tryLease tries once to take the projection's lease on conn.
func tryLease(ctx context.Context, conn *pgx.Conn, name string) (bool, error) {
	var held bool
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1)`, leaseKey(name)).Scan(&held); err != nil {
		return false, fmt.Errorf("try lease of %s: %w", name, err)
	}
	return held, nil
}

// keep checks the lease's connection every interval until ctx ends or the
// connection fails (the server then released the lock, or will once it
// notices); it calls lost in the second case.
func (l *lease) keep(ctx context.Context, interval time.Duration, lost func(error)) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		pingCtx, cancel := context.WithTimeout(ctx, interval)
		err := l.conn.Ping(pingCtx)
		cancel()
		if err != nil && ctx.Err() == nil {
			lost(err)
			return
		}
	}
}

// release gives the lease up by closing its connection.
func (l *lease) release() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = l.conn.Close(ctx)
}
