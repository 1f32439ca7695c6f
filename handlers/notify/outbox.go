package notify

import (
	"context"
	"embed"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tellyou/tellyou/events/pgstore/pgmigrate"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Migrate creates the outbox and dead-letter tables.
func Migrate(ctx context.Context, pool *pgxpool.Pool) error {
	return pgmigrate.ApplyEmbedded(ctx, pool, "notify", migrations, "tellyou_notify_version")
}

// Outbox is the durable queue of notifications in PostgreSQL. It is safe for
// concurrent use, and several processes may share it.
type Outbox struct {
	pool *pgxpool.Pool
}

// NewOutbox returns an Outbox on pool; Migrate must have run.
func NewOutbox(pool *pgxpool.Pool) *Outbox { return &Outbox{pool: pool} }

// Enqueue stores n for delivery. It is idempotent: a notification of the
// same user and message already waiting, or already given up, is left as it
// is. An empty Type is TypeMessage.
func (o *Outbox) Enqueue(ctx context.Context, n Notification) error {
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
	_, err = o.pool.Exec(ctx, `
		INSERT INTO tellyou_notify_outbox (user_id, message_id, body)
		SELECT $1, $2, $3
		WHERE NOT EXISTS (SELECT 1 FROM tellyou_notify_dead WHERE user_id = $1 AND message_id = $2)
		ON CONFLICT (user_id, message_id) DO NOTHING`,
		n.UserID, n.MessageID, string(body))
	if err != nil {
		return fmt.Errorf("enqueue notification of %s about %s: %w", n.UserID, n.MessageID, err)
	}
	return nil
}

// pending is a claimed row of the outbox.
type pending struct {
	id        int64
	webhookID string
	body      []byte
	attempts  int // including the claimed one
}

// claim takes up to limit due notifications, counts the attempt and leases
// them for lease: no other sender takes them before it ends.
func (o *Outbox) claim(ctx context.Context, limit int, lease time.Duration) ([]pending, error) {
	rows, err := o.pool.Query(ctx, `
		UPDATE tellyou_notify_outbox o
		SET attempts = o.attempts + 1, next_attempt_at = now() + $2 * interval '1 millisecond'
		FROM (
			SELECT id FROM tellyou_notify_outbox
			WHERE next_attempt_at <= now()
			ORDER BY next_attempt_at
			LIMIT $1
			FOR UPDATE SKIP LOCKED
		) due
		WHERE o.id = due.id
		RETURNING o.id, o.user_id, o.message_id, o.body, o.attempts`, limit, lease.Milliseconds())
	if err != nil {
		return nil, fmt.Errorf("claim due notifications: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (pending, error) {
		var p pending
		var user, message, body string
		err := r.Scan(&p.id, &user, &message, &body, &p.attempts)
		p.webhookID, p.body = WebhookID(user, message), []byte(body)
		return p, err
	})
	if err != nil {
		return nil, fmt.Errorf("claim due notifications: %w", err)
	}
	return out, nil
}

// delivered removes a notification the gateway accepted.
func (o *Outbox) delivered(ctx context.Context, id int64) error {
	if _, err := o.pool.Exec(ctx, `DELETE FROM tellyou_notify_outbox WHERE id = $1`, id); err != nil {
		return fmt.Errorf("remove delivered notification %d: %w", id, err)
	}
	return nil
}

// retryLater records a failed attempt and when to try again.
func (o *Outbox) retryLater(ctx context.Context, id int64, after time.Duration, cause string) error {
	_, err := o.pool.Exec(ctx, `
		UPDATE tellyou_notify_outbox
		SET next_attempt_at = now() + $2 * interval '1 millisecond', last_error = $3
		WHERE id = $1`, id, after.Milliseconds(), cause)
	if err != nil {
		return fmt.Errorf("reschedule notification %d: %w", id, err)
	}
	return nil
}

// giveUp moves a notification to the dead-letter table, in one statement.
func (o *Outbox) giveUp(ctx context.Context, id int64, cause string) error {
	_, err := o.pool.Exec(ctx, `
		WITH gone AS (DELETE FROM tellyou_notify_outbox WHERE id = $1
			RETURNING user_id, message_id, body, attempts, created_at)
		INSERT INTO tellyou_notify_dead (user_id, message_id, body, attempts, last_error, created_at)
		SELECT user_id, message_id, body, attempts, $2, created_at FROM gone
		ON CONFLICT (user_id, message_id) DO UPDATE
		SET attempts = EXCLUDED.attempts, last_error = EXCLUDED.last_error, failed_at = now()`, id, cause)
	if err != nil {
		return fmt.Errorf("move notification %d to the dead letters: %w", id, err)
	}
	return nil
}

// DeadLetter is a notification given up on.
type DeadLetter struct {
	Notification Notification
	WebhookID    string
	Attempts     int
	LastError    string
	FailedAt     time.Time
}

// DeadLetters returns the notifications given up on, oldest failure first.
func (o *Outbox) DeadLetters(ctx context.Context) ([]DeadLetter, error) {
	rows, err := o.pool.Query(ctx, `
		SELECT user_id, message_id, body, attempts, last_error, failed_at
		FROM tellyou_notify_dead ORDER BY failed_at, user_id, message_id`)
	if err != nil {
		return nil, fmt.Errorf("read dead-letter notifications: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (DeadLetter, error) {
		var d DeadLetter
		var user, message, body string
		if err := r.Scan(&user, &message, &body, &d.Attempts, &d.LastError, &d.FailedAt); err != nil {
			return d, err
		}
		d.WebhookID = WebhookID(user, message)
		return d, json.Unmarshal([]byte(body), &d.Notification)
	})
	if err != nil {
		return nil, fmt.Errorf("read dead-letter notifications: %w", err)
	}
	return out, nil
}

// Pending returns how many notifications wait in the outbox, claimed or not.
func (o *Outbox) Pending(ctx context.Context) (int, error) {
	var n int
	if err := o.pool.QueryRow(ctx, `SELECT count(*) FROM tellyou_notify_outbox`).Scan(&n); err != nil {
		return 0, fmt.Errorf("count pending notifications: %w", err)
	}
	return n, nil
}
