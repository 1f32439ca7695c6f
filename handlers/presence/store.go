package presence

import (
	"context"
	"embed"
	"fmt"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tellyou/tellyou/events/pgstore/pgmigrate"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Migrate creates the table of last-seen times.
func Migrate(ctx context.Context, pool *pgxpool.Pool) error {
	return pgmigrate.ApplyEmbedded(ctx, pool, "presence", migrations, "tellyou_presence_version")
}

// Store keeps the last-seen times in PostgreSQL and answers who shares a
// session with whom from the sessions read model (rm_members). It is safe for
// concurrent use.
type Store struct {
	pool *pgxpool.Pool
}

// NewStore returns a Store on pool; Migrate must have run.
func NewStore(pool *pgxpool.Pool) *Store { return &Store{pool: pool} }

// SaveLastSeen records when users went offline, in one statement. A time
// never moves back: a node that learns late of an older disconnect does not
// overwrite a newer one.
func (s *Store) SaveLastSeen(ctx context.Context, lastSeen map[string]int64) error {
	if len(lastSeen) == 0 {
		return nil
	}
	users := make([]string, 0, len(lastSeen))
	times := make([]int64, 0, len(lastSeen))
	for u, at := range lastSeen {
		users, times = append(users, u), append(times, at)
	}
	_, err := s.pool.Exec(ctx, `
		INSERT INTO tellyou_presence (user_id, last_seen_at)
		SELECT * FROM unnest($1::text[], $2::bigint[])
		ON CONFLICT (user_id) DO UPDATE
		SET last_seen_at = GREATEST(tellyou_presence.last_seen_at, EXCLUDED.last_seen_at)`, users, times)
	if err != nil {
		return fmt.Errorf("save last-seen times of %d users: %w", len(users), err)
	}
	return nil
}

// LastSeen returns the stored last-seen times of users; those never seen
// offline are missing from the answer.
func (s *Store) LastSeen(ctx context.Context, users []string) (map[string]int64, error) {
	out := make(map[string]int64, len(users))
	if len(users) == 0 {
		return out, nil
	}
	rows, err := s.pool.Query(ctx, `SELECT user_id, last_seen_at FROM tellyou_presence WHERE user_id = ANY($1)`, users)
	if err != nil {
		return nil, fmt.Errorf("read last-seen times: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var u string
		var at int64
		if err := rows.Scan(&u, &at); err != nil {
			return nil, fmt.Errorf("read last-seen times: %w", err)
		}
		out[u] = at
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read last-seen times: %w", err)
	}
	return out, nil
}

// Peers returns, for each of users, the other members of the sessions they
// are in, counting only sessions of at most maxMembers members: one query
// for the whole batch, over rm_members' (user_id, session_id) index, and
// at most maxMembers+1 index entries read to size a session.
func (s *Store) Peers(ctx context.Context, users []string, maxMembers int) (map[string][]string, error) {
	out := make(map[string][]string, len(users))
	if len(users) == 0 {
		return out, nil
	}
	rows, err := s.pool.Query(ctx, `
		SELECT DISTINCT m.user_id, p.user_id
		FROM rm_members m
		JOIN rm_members p ON p.session_id = m.session_id AND p.user_id <> m.user_id
		WHERE m.user_id = ANY($1)
		  AND (SELECT count(*) FROM (SELECT 1 FROM rm_members c WHERE c.session_id = m.session_id LIMIT $2 + 1) sized) <= $2`,
		users, maxMembers)
	if err != nil {
		return nil, fmt.Errorf("find the peers of %d users: %w", len(users), err)
	}
	defer rows.Close()
	for rows.Next() {
		var u, peer string
		if err := rows.Scan(&u, &peer); err != nil {
			return nil, fmt.Errorf("find peers: %w", err)
		}
		out[u] = append(out[u], peer)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("find peers: %w", err)
	}
	return out, nil
}

// Sharing returns which of users share at least one session with userID,
// whatever its size.
func (s *Store) Sharing(ctx context.Context, userID string, users []string) (map[string]bool, error) {
	out := make(map[string]bool, len(users))
	if len(users) == 0 {
		return out, nil
	}
	rows, err := s.pool.Query(ctx, `
		SELECT DISTINCT a.user_id FROM rm_members a
		WHERE a.user_id = ANY($2)
		  AND EXISTS (SELECT 1 FROM rm_members c WHERE c.session_id = a.session_id AND c.user_id = $1)`,
		userID, users)
	if err != nil {
		return nil, fmt.Errorf("check whom %s shares a session with: %w", userID, err)
	}
	defer rows.Close()
	for rows.Next() {
		var u string
		if err := rows.Scan(&u); err != nil {
			return nil, fmt.Errorf("check shared sessions: %w", err)
		}
		out[u] = true
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("check shared sessions: %w", err)
	}
	return out, nil
}
