package projections

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/tellyou/tellyou/events"
)

// A projection's checkpoint is the position of the last event it applied,
// stored in rm_checkpoints and written in the same transaction as the rows that
// event produced. Whoever writes a projection's tables (a runner's batch, a
// rebuild's switch) first locks its checkpoint row: writers of one projection
// are serialised, in this process or any other.

// lockCheckpoint returns the projection's stored position and locks its row
// until tx ends, creating it at 0 when missing.
func lockCheckpoint(ctx context.Context, tx pgx.Tx, name string) (events.Position, error) {
	if _, err := tx.Exec(ctx, `INSERT INTO rm_checkpoints (name, position) VALUES ($1, 0)
		ON CONFLICT DO NOTHING`, name); err != nil {
		return 0, fmt.Errorf("create checkpoint of %s: %w", name, err)
	}
	var pos int64
	if err := tx.QueryRow(ctx, `SELECT position FROM rm_checkpoints WHERE name = $1 FOR UPDATE`,
		name).Scan(&pos); err != nil {
		return 0, fmt.Errorf("lock checkpoint of %s: %w", name, err)
	}
	return events.Position(pos), nil
}

// queueCheckpoint queues the write of the projection's new position.
func queueCheckpoint(b *pgx.Batch, name string, pos events.Position) {
	b.Queue(`UPDATE rm_checkpoints SET position = $2, updated_at = now() WHERE name = $1`, name, int64(pos))
}

// querier is what reading a checkpoint needs of a pool or connection.
type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// readCheckpoint returns the projection's stored position without locking it
// (0 when it has none yet).
func readCheckpoint(ctx context.Context, db querier, name string) (events.Position, error) {
	var pos int64
	err := db.QueryRow(ctx, `SELECT position FROM rm_checkpoints WHERE name = $1`, name).Scan(&pos)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("read checkpoint of %s: %w", name, err)
	}
	return events.Position(pos), nil
}
