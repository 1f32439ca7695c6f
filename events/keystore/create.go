package keystore

import (
	"context"
	"crypto/rand"
	"fmt"
	"slices"
	"sync"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/tellyou/tellyou/events/sealing"
)

// Creating data keys together: the first message of each sender, session and
// UTC day waits for its key's durable commit before its own append, and such
// messages come in bursts (a server's first minutes, and 00:00 UTC, when every
// active sender needs the new day's key). Concurrent creations therefore share
// one batch and one commit, as appends share them in pgstore's group commit:
// a caller that finds fewer than maxCreators batches running runs one itself,
// taking every creation waiting (up to maxCreateBatch); the others wait for
// its result. Under light load each creation is a batch of one, at once.

const (
	// maxCreators is the number of creation batches in flight at once.
	maxCreators = 2
	// maxCreateBatch bounds the keys of one batch.
	maxCreateBatch = 256
)

// createRequest is one period key asked for, and its outcome.
type createRequest struct {
	sender, sessionID, day string
	key                    *dataKey
	err                    error
	done                   chan struct{}
}

// creations is the queue of period keys waiting to be created.
type creations struct {
	mu      sync.Mutex
	waiting []*createRequest
	running int
}

// createPeriod returns the period's key, created unless another process
// stored it first, or an error wrapping ErrUserErased when the sender is
// erased.
func (s *Store) createPeriod(ctx context.Context, sender, sessionID, day string) (*dataKey, error) {
	req := &createRequest{sender: sender, sessionID: sessionID, day: day, done: make(chan struct{})}
	q := &s.creations
	q.mu.Lock()
	q.waiting = append(q.waiting, req)
	lead := q.running < maxCreators
	if lead {
		q.running++
	}
	q.mu.Unlock()
	if lead {
		// The batch serves other callers too: it outlives this caller's
		// cancellation.
		s.runCreations(context.WithoutCancel(ctx))
	}
	select {
	case <-req.done:
		if req.err != nil {
			return nil, fmt.Errorf("data key of %s in %s on %s: %w", sender, sessionID, day, req.err)
		}
		return req.key, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// runCreations creates waiting keys a batch at a time until none wait.
func (s *Store) runCreations(ctx context.Context) {
	q := &s.creations
	for {
		q.mu.Lock()
		n := min(len(q.waiting), maxCreateBatch)
		if n == 0 {
			q.running--
			q.mu.Unlock()
			return
		}
		batch := slices.Clone(q.waiting[:n])
		q.waiting = slices.Delete(q.waiting, 0, n)
		q.mu.Unlock()
		s.createBatch(ctx, batch)
		for _, r := range batch {
			close(r.done)
		}
	}
}

// createBatch creates the batch's keys in one round trip and one commit, and
// sets each request's outcome.
//
// It takes the advisory lock of each sender (in sorted order, so that two
// batches never wait on each other), which EraseUser takes too: a key is
// never created for a user whose erasure has committed, nor survives one
// that commits after it. The statements go in one pgx batch: an implicit
// transaction (a single Sync) whose statements each take their own snapshot
// (read committed), so the insert sees an erasure that committed while its
// lock was awaited. A key another process stored first is read back and used.
func (s *Store) createBatch(ctx context.Context, batch []*createRequest) {
	fail := func(err error) {
		for _, r := range batch {
			r.err = err
		}
	}
	n := len(batch)
	ids, users, sessions, days, wrapped := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([][]byte, n)
	for i, r := range batch {
		raw := make([]byte, sealing.KeySize)
		if _, err := rand.Read(raw); err != nil {
			fail(fmt.Errorf("generate data key: %w", err))
			return
		}
		ids[i], users[i], sessions[i], days[i] = uuid.NewString(), r.sender, r.sessionID, r.day
		w, err := s.master.wrap(raw, wrapAAD(ids[i], r.sender, r.sessionID, r.day))
		if err != nil {
			fail(err)
			return
		}
		wrapped[i] = w
	}
	senders := slices.Compact(slices.Sorted(slices.Values(users)))

	var b pgx.Batch
	for _, u := range senders {
		b.Queue(`SELECT pg_advisory_xact_lock(hashtextextended('tellyou-keystore:' || $1, 0))`, u)
	}
	b.Queue(`INSERT INTO tellyou_data_keys (key_id, user_id, session_id, day, wrapped, master_id)
		SELECT n.key_id::uuid, n.user_id, n.session_id, n.day::date, n.wrapped, $6
		FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bytea[]) AS n(key_id, user_id, session_id, day, wrapped)
		WHERE NOT EXISTS (SELECT 1 FROM tellyou_erased_users e WHERE e.user_id = n.user_id)
		ON CONFLICT (user_id, session_id, day) DO NOTHING`,
		ids, users, sessions, days, wrapped, s.master.id)
	type stored struct {
		erased   bool
		keyID    *uuid.UUID
		wrapped  []byte
		masterID *string
	}
	found := make([]stored, n)
	b.Queue(`SELECT n.i, EXISTS (SELECT 1 FROM tellyou_erased_users e WHERE e.user_id = n.user_id),
			k.key_id, k.wrapped, k.master_id
		FROM unnest($1::text[], $2::text[], $3::text[]) WITH ORDINALITY AS n(user_id, session_id, day, i)
		LEFT JOIN tellyou_data_keys k ON k.user_id = n.user_id AND k.session_id = n.session_id AND k.day = n.day::date`,
		users, sessions, days).Query(func(rows pgx.Rows) error {
		for rows.Next() {
			var i int
			var f stored
			if err := rows.Scan(&i, &f.erased, &f.keyID, &f.wrapped, &f.masterID); err != nil {
				return err
			}
			if i < 1 || i > n {
				return fmt.Errorf("row %d of %d keys", i, n)
			}
			found[i-1] = f
		}
		return rows.Err()
	})
	if err := s.pool.SendBatch(ctx, &b).Close(); err != nil {
		fail(err)
		return
	}
	for i, r := range batch {
		f := found[i]
		switch {
		case f.erased:
			r.err = ErrUserErased
		case f.keyID == nil || f.masterID == nil:
			r.err = fmt.Errorf("key not stored")
		default:
			r.key, r.err = s.unwrap(f.keyID.String(), r.sender, r.sessionID, r.day, f.wrapped, *f.masterID)
		}
	}
}
