package keystore

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// RotateMaster rewraps every data key not yet wrapped by newKey with it, in
// transactions of batch keys (default 500), and returns how many it rewrapped.
// Each key must unwrap with the store's Master or PreviousMaster. Rows are
// locked while rewrapped (FOR UPDATE SKIP LOCKED), so several rotations and
// running servers may share the tables; a later run finishes what an
// interrupted one left. The store itself keeps wrapping new keys with its
// own Master: see SECURITY.md for the order of a rotation.
func (s *Store) RotateMaster(ctx context.Context, newKey []byte, batch int) (int, error) {
	if batch <= 0 {
		batch = 500
	}
	next, err := newMaster(newKey)
	if err != nil {
		return 0, fmt.Errorf("rotate: new %w", err)
	}
	total := 0
	for {
		n := 0
		err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
			rows, err := tx.Query(ctx, `SELECT key_id, user_id, session_id, day, wrapped, master_id FROM tellyou_data_keys
				WHERE master_id <> $1 LIMIT $2 FOR UPDATE SKIP LOCKED`, next.id, batch)
			if err != nil {
				return err
			}
			type rewrapped struct {
				id      uuid.UUID
				wrapped []byte
			}
			var out []rewrapped
			for rows.Next() {
				var id uuid.UUID
				var userID, sessionID, masterID string
				var day time.Time
				var wrapped []byte
				if err := rows.Scan(&id, &userID, &sessionID, &day, &wrapped, &masterID); err != nil {
					return err
				}
				k, err := s.unwrap(id.String(), userID, sessionID, day.Format(time.DateOnly), wrapped, masterID)
				if err != nil {
					return err
				}
				w, err := next.wrap(k.key, wrapAAD(k.id, userID, sessionID, k.day))
				if err != nil {
					return err
				}
				out = append(out, rewrapped{id, w})
			}
			if err := rows.Err(); err != nil {
				return err
			}
			for _, r := range out {
				if _, err := tx.Exec(ctx, `UPDATE tellyou_data_keys SET wrapped = $2, master_id = $3 WHERE key_id = $1`,
					r.id, r.wrapped, next.id); err != nil {
					return err
				}
			}
			n = len(out)
			return nil
		})
		if err != nil {
			return total, fmt.Errorf("rotate master key to %s after %d keys: %w", next.id, total, err)
		}
		total += n
		if n < batch {
			return total, nil
		}
	}
}
