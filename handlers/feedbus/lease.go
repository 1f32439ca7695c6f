package feedbus

import (
	"context"
	"fmt"
	"hash/fnv"
	"time"

	"github.com/jackc/pgx/v5"
)

// A relay's lease works like a projection's (see projections/lease.go): a
// PostgreSQL session advisory lock, on a connection of its own outside the
// pool, held while the relay publishes. A process that dies closes its
// connection and the server releases the lock, so a standby takes over at its
// next try. The key lives in a namespace of its own, so a relay and a
// projection never share a lease.

// leaseKey is the advisory lock key of the relay called name.
func leaseKey(name string) int64 {
	h := fnv.New64a()
	h.Write([]byte("tellyou.feed.lease:" + name))
	return int64(h.Sum64())
}

// leaseCheckTimeout is the least time a check of the lease connection is
// given before the lease counts as lost.
const leaseCheckTimeout = 5 * time.Second

// lease is a held advisory lock and its connection.
type lease struct {
	conn *pgx.Conn
}

// tryLease tries once to take the relay's lease on conn.
func tryLease(ctx context.Context, conn *pgx.Conn, name string) (bool, error) {
	var held bool
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1)`, leaseKey(name)).Scan(&held); err != nil {
		return false, fmt.Errorf("try feed lease of %s: %w", name, err)
	}
	return held, nil
}

// keep checks the lease's connection every interval until ctx ends or the
// connection fails (the server has then released the lock, or will once it
// notices); it calls lost in the second case. A check may take up to
// leaseCheckTimeout, however short the interval, so that a busy database is
// not taken for a lost one.
func (l *lease) keep(ctx context.Context, interval time.Duration, lost func(error)) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		pingCtx, cancel := context.WithTimeout(ctx, max(interval, leaseCheckTimeout))
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
