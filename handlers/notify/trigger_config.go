package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tellyou/tellyou/domain"
	"github.com/tellyou/tellyou/events"
	"github.com/tellyou/tellyou/events/tail"
)

// Log is what a Trigger needs of the event log: the process's tail
// (events/tail), whose events are decoded once for all its followers.
type Log interface {
	Follow(ctx context.Context, after events.Position, batchSize int, handle func(ctx context.Context, batch []*tail.Event) error) error
	Head(ctx context.Context) (events.Position, error)
}

var _ Log = (*tail.Tail)(nil)

// Sessions gives the event-sourced state of a session: its members, their
// muted settings, its kind and title. *command.SessionRepository serves it.
type Sessions interface {
	View(ctx context.Context, sessionID string, read func(*domain.Session)) error
}

// Presence tells which users have a connection on any node.
// *presence.Tracker serves it.
type Presence interface {
	Online(users []string) map[string]bool
}

// Outcomes of a recipient of a message, as counted by TriggerConfig.Counted.
const (
	// OutcomeEnqueued: a notification was written to the outbox (or was
	// there already).
	OutcomeEnqueued = "enqueued"
	// OutcomeMuted: the recipient muted the session.
	OutcomeMuted = "muted"
	// OutcomeOnline: the recipient had a connection; the push reaches them.
	OutcomeOnline = "online"
	// OutcomeStale: the message was older than MaxAge when the trigger read
	// it (after a long stop); waking the user for it would be news of old.
	OutcomeStale = "stale"
)

// DefaultTriggerName names the checkpoint and lease of the server's trigger.
const DefaultTriggerName = "offline"

// TriggerConfig configures a Trigger.
type TriggerConfig struct {
	// Log is the event log to follow. Required.
	Log Log
	// Pool holds the outbox and the trigger's checkpoint (Migrate). Required.
	// The lease takes one more connection, outside the pool.
	Pool *pgxpool.Pool
	// Sessions and Presence decide who is notified. Required.
	Sessions Sessions
	Presence Presence
	// Name names the checkpoint and the lease (default DefaultTriggerName).
	Name string
	// BatchSize is how many events one read of the log takes, and at most
	// how many are decided in one transaction (default 100).
	BatchSize int
	// MaxAge skips messages older than this when read (default 1 h): a
	// trigger started after a long stop does not wake users for old news.
	MaxAge time.Duration
	// LeaseRetry is how often a standby tries to take the lease and a holder
	// checks its connection (default 1 s).
	LeaseRetry time.Duration
	// RetryBackoff is the wait after a failure, doubling up to
	// MaxRetryBackoff (defaults 100 ms and 30 s).
	RetryBackoff    time.Duration
	MaxRetryBackoff time.Duration
	// Enqueued, when set, is called after a transaction wrote notifications:
	// Sender.Wake, so that they leave at once rather than at the next poll.
	Enqueued func()
	// Counted, when set, is called after each committed batch with the
	// number of recipients per outcome (OutcomeEnqueued, ...).
	Counted func(outcome string, n int)
	// Now is the clock MaxAge is measured with (default time.Now).
	Now func() time.Time
	// Logger receives failures and lease changes (default slog.Default()).
	Logger *slog.Logger
}

func (c *TriggerConfig) setDefaults() {
	if c.Name == "" {
		c.Name = DefaultTriggerName
	}
	if c.BatchSize <= 0 {
		c.BatchSize = 100
	}
	if c.MaxAge <= 0 {
		c.MaxAge = time.Hour
	}
	if c.LeaseRetry <= 0 {
		c.LeaseRetry = time.Second
	}
	if c.RetryBackoff <= 0 {
		c.RetryBackoff = 100 * time.Millisecond
	}
	if c.MaxRetryBackoff <= 0 {
		c.MaxRetryBackoff = 30 * time.Second
	}
	c.MaxRetryBackoff = max(c.MaxRetryBackoff, c.RetryBackoff)
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}

// Validate reports a missing dependency.
func (c TriggerConfig) Validate() error {
	var errs []error
	if c.Log == nil {
		errs = append(errs, errors.New("nil Log"))
	}
	if c.Pool == nil {
		errs = append(errs, errors.New("nil Pool"))
	}
	if c.Sessions == nil {
		errs = append(errs, errors.New("nil Sessions"))
	}
	if c.Presence == nil {
		errs = append(errs, errors.New("nil Presence"))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("notify trigger config: %w", err)
	}
	return nil
}
