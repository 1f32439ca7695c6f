package keystore

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// lockUser takes the transaction-scoped advisory lock that orders a user's
// key creations and erasure.
func lockUser(ctx context.Context, tx pgx.Tx, userID string) error {
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('tellyou-keystore:' || $1, 0))`, userID); err != nil {
		return fmt.Errorf("lock keys of %s: %w", userID, err)
	}
	return nil
}

// EraseUser marks the user erased and deletes every data key of theirs, in
// one transaction: all content they sent can no longer be opened, and none is
// sealed for them again. It is idempotent. This process's cache forgets the
// keys at once; other processes' caches within their CacheTTL.
func (s *Store) EraseUser(ctx context.Context, userID string) error {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if err := lockUser(ctx, tx, userID); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO tellyou_erased_users (user_id) VALUES ($1) ON CONFLICT DO NOTHING`, userID); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `DELETE FROM tellyou_data_keys WHERE user_id = $1`, userID)
		return err
	})
	if err != nil {
		return fmt.Errorf("erase keys of %s: %w", userID, err)
	}
	s.cache.drop(func(k *dataKey) bool { return k.userID == userID })
	return nil
}

// IsErased reports whether EraseUser ran for the user.
func (s *Store) IsErased(ctx context.Context, userID string) (bool, error) {
	var erased bool
	if err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM tellyou_erased_users WHERE user_id = $1)`, userID).Scan(&erased); err != nil {
		return false, fmt.Errorf("check erasure of %s: %w", userID, err)
	}
	return erased, nil
}

// ShredSessionBefore deletes the session's data keys whose whole UTC day lies
// before `before` (the days before before's UTC date): the content sent on
// those days can no longer be opened. This process's cache forgets the keys
// at once; other processes' caches within their CacheTTL.
func (s *Store) ShredSessionBefore(ctx context.Context, sessionID string, before time.Time) error {
	cutoff := dayOf(before)
	if _, err := s.pool.Exec(ctx, `DELETE FROM tellyou_data_keys WHERE session_id = $1 AND day < $2`, sessionID, cutoff); err != nil {
		return fmt.Errorf("shred keys of %s before %s: %w", sessionID, cutoff, err)
	}
	s.cache.drop(func(k *dataKey) bool { return k.sessionID == sessionID && k.day < cutoff })
	return nil
}
