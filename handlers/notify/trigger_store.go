package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tellyou/tellyou/events"
)

// TriggerCheckpoint returns the position of the last event the trigger
// called name decided on; false when it has never run.
func TriggerCheckpoint(ctx context.Context, pool *pgxpool.Pool, name string) (events.Position, bool, error) {
	var pos int64
	err := pool.QueryRow(ctx, `SELECT position FROM tellyou_notify_checkpoints WHERE name = $1`, name).Scan(&pos)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("read notify trigger checkpoint of %s: %w", name, err)
	}
	return events.Position(pos), true, nil
}

// startCheckpoint stores pos as the checkpoint of a trigger that never ran,
// and returns the stored checkpoint, pos or the one another node stored
// first.
func startCheckpoint(ctx context.Context, pool *pgxpool.Pool, name string, pos events.Position) (events.Position, error) {
	var stored int64
	err := pool.QueryRow(ctx, `
		WITH ins AS (
			INSERT INTO tellyou_notify_checkpoints (name, position) VALUES ($1, $2)
			ON CONFLICT (name) DO NOTHING RETURNING position
		)
		SELECT position FROM ins UNION ALL SELECT position FROM tellyou_notify_checkpoints WHERE name = $1
		LIMIT 1`, name, int64(pos)).Scan(&stored)
	if err != nil {
		return 0, fmt.Errorf("start notify trigger checkpoint of %s at %d: %w", name, pos, err)
	}
	return events.Position(stored), nil
}

// commit writes notes to the outbox and moves the checkpoint forward to pos,
// in one transaction: either both happen or neither. Rows of a (user,
// message) already waiting or given up are left as they are, and the
// checkpoint never moves back, so a batch decided twice (by a holder that
// lost its lease without noticing) adds nothing.
func (o *Outbox) commit(ctx context.Context, name string, pos events.Position, notes []Notification) error {
	users, messages, bodies := make([]string, 0, len(notes)), make([]string, 0, len(notes)), make([]string, 0, len(notes))
	for _, n := range notes {
		if n.Type == "" {
			n.Type = TypeMessage
		}
		if err := n.validate(); err != nil {
			return fmt.Errorf("enqueue notification: %w", err)
		}
		body, err := json.Marshal(n)
		if err != nil {
			return fmt.Errorf("encode notification of %s about %s: %w", n.UserID, n.MessageID, err)
		}
		users, messages, bodies = append(users, n.UserID), append(messages, n.MessageID), append(bodies, string(body))
	}
	err := pgx.BeginFunc(ctx, o.pool, func(tx pgx.Tx) error {
		if len(notes) > 0 {
			if _, err := tx.Exec(ctx, `
				INSERT INTO tellyou_notify_outbox (user_id, message_id, body)
				SELECT n.u, n.m, n.b FROM unnest($1::text[], $2::text[], $3::text[]) AS n(u, m, b)
				WHERE NOT EXISTS (SELECT 1 FROM tellyou_notify_dead d WHERE d.user_id = n.u AND d.message_id = n.m)
				ON CONFLICT (user_id, message_id) DO NOTHING`, users, messages, bodies); err != nil {
				return fmt.Errorf("enqueue %d notifications: %w", len(notes), err)
			}
		}
		if _, err := tx.Exec(ctx, `
			INSERT INTO tellyou_notify_checkpoints (name, position) VALUES ($1, $2)
			ON CONFLICT (name) DO UPDATE SET position = GREATEST(tellyou_notify_checkpoints.position, EXCLUDED.position),
				updated_at = now()`, name, int64(pos)); err != nil {
			return fmt.Errorf("advance checkpoint to %d: %w", pos, err)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("notify trigger %s: %w", name, err)
	}
	return nil
}
