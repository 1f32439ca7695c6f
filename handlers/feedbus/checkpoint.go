package feedbus

import (
	"context"
	"embed"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tellyou/tellyou/events"
	"github.com/tellyou/tellyou/events/pgstore/pgmigrate"
)

// VersionTable is the table in which Migrate records the schema version of
// the feed's checkpoints.
const VersionTable = "tellyou_feed_version"

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrate creates or updates the table of the relays' checkpoints. It is safe
// to call from several processes at once (see pgmigrate.Apply).
func Migrate(ctx context.Context, pool *pgxpool.Pool) error {
	return pgmigrate.ApplyEmbedded(ctx, pool, "analytics feed", migrationFiles, VersionTable)
}

// ReadCheckpoint returns the position of the last event the relay called name
// published (0 when it has published nothing yet).
func ReadCheckpoint(ctx context.Context, pool *pgxpool.Pool, name string) (events.Position, error) {
	var pos int64
	err := pool.QueryRow(ctx, `SELECT position FROM tellyou_feed_checkpoints WHERE name = $1`, name).Scan(&pos)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("read feed checkpoint of %s: %w", name, err)
	}
	return events.Position(pos), nil
}

// SetCheckpoint stores pos as the relay's checkpoint, whether it is ahead of
// or behind the stored one: an operator moves it back to publish events
// again (to a new stream, say), forward to skip them. A running relay notices
// only when it resubscribes; stop it first.
func SetCheckpoint(ctx context.Context, pool *pgxpool.Pool, name string, pos events.Position) error {
	if pos < 0 {
		return fmt.Errorf("set feed checkpoint of %s: negative position %d", name, pos)
	}
	if _, err := pool.Exec(ctx, `INSERT INTO tellyou_feed_checkpoints (name, position) VALUES ($1, $2)
		ON CONFLICT (name) DO UPDATE SET position = EXCLUDED.position, updated_at = now()`, name, int64(pos)); err != nil {
		return fmt.Errorf("set feed checkpoint of %s to %d: %w", name, pos, err)
	}
	return nil
}

// advanceCheckpoint moves the relay's checkpoint forward to pos; it never
// moves it back, so a relay that lost its lease without noticing cannot
// undo a newer holder's progress.
func advanceCheckpoint(ctx context.Context, pool *pgxpool.Pool, name string, pos events.Position) error {
	if _, err := pool.Exec(ctx, `INSERT INTO tellyou_feed_checkpoints (name, position) VALUES ($1, $2)
		ON CONFLICT (name) DO UPDATE SET position = GREATEST(tellyou_feed_checkpoints.position, EXCLUDED.position),
		updated_at = now()`, name, int64(pos)); err != nil {
		return fmt.Errorf("advance feed checkpoint of %s to %d: %w", name, pos, err)
	}
	return nil
}
