package retention

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tellyou/tellyou/domain"
	"github.com/tellyou/tellyou/handlers/command"
	"github.com/tellyou/tellyou/readmodels"
)

// Defaults of Config.
const (
	// DefaultInterval is how often the sweeper looks for expired messages.
	DefaultInterval = time.Minute
	// DefaultPage is how many sessions one read-model query returns.
	DefaultPage = 500
	// LeaseKey names the advisory lock that lets one node sweep.
	LeaseKey = "tellyou.retention.lease:sweeper"
)

// ContentShredder deletes the content keys of a session's messages: the
// period keys (per sender, session and UTC day) whose whole day lies before
// before. The keystore of sealed content implements it; it must be
// idempotent, as a sweep may ask again.
type ContentShredder interface {
	ShredSessionBefore(ctx context.Context, sessionID string, before time.Time) error
}

// Expiries is what the sweeper reads of the read models.
type Expiries interface {
	DueExpiries(ctx context.Context, q readmodels.ExpiryQuery) ([]readmodels.Expiry, error)
	ExpiredSessions(ctx context.Context, q readmodels.ExpiryQuery) ([]readmodels.Expiry, error)
}

// Expirer appends the expiry of a session's messages and returns the seq
// they expired up to (command.ExpireHandler).
type Expirer interface {
	Handle(ctx context.Context, cmd command.Expire) (int64, error)
}

var (
	_ Expiries = (*readmodels.Queries)(nil)
	_ Expirer  = (*command.ExpireHandler)(nil)
)

// Config holds the sweeper's dependencies and settings.
type Config struct {
	// Expiries finds the sessions with messages due.
	Expiries Expiries
	// Expire appends MessagesExpired.
	Expire Expirer
	// Shredder deletes the content keys of expired days.
	Shredder ContentShredder
	// DefaultDays is the server's retention in whole days for sessions
	// without their own; 0, the default: none.
	DefaultDays int
	// Interval is the pause between two sweeps (default DefaultInterval).
	Interval time.Duration
	// Page is how many sessions one query returns (default DefaultPage).
	Page int
	// Pool, when set, opens the lease's connection: among the processes
	// sharing the database one sweeps at a time. nil: this process sweeps
	// without a lease (tests, a single node).
	Pool *pgxpool.Pool
	// Now is the server clock (default time.Now).
	Now func() time.Time
	// Logger receives failed sweeps (default: discarded).
	Logger *slog.Logger
}

func (c *Config) setDefaults() {
	if c.Interval == 0 {
		c.Interval = DefaultInterval
	}
	if c.Page == 0 {
		c.Page = DefaultPage
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
}

// Validate reports missing dependencies and bad settings.
func (c Config) Validate() error {
	var errs []error
	if c.Expiries == nil {
		errs = append(errs, errors.New("nil Expiries"))
	}
	if c.Expire == nil {
		errs = append(errs, errors.New("nil Expire"))
	}
	if c.Shredder == nil {
		errs = append(errs, errors.New("nil Shredder"))
	}
	if c.DefaultDays < 0 || c.DefaultDays > domain.MaxRetentionDays {
		errs = append(errs, fmt.Errorf("DefaultDays %d out of 0..%d", c.DefaultDays, domain.MaxRetentionDays))
	}
	if c.Interval < 0 {
		errs = append(errs, fmt.Errorf("negative Interval %v", c.Interval))
	}
	if c.Page < 0 || c.Page > 1000 {
		errs = append(errs, fmt.Errorf("Page %d out of 1..1000", c.Page))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("retention config: %w", err)
	}
	return nil
}

// ParseDays reads a retention setting as whole days: "30d", or a Go
// duration that is a whole number of days ("720h"); "", "0" and "off" mean
// none (0). Anything else, a part of a day or more than
// domain.MaxRetentionDays, is an error that says what is accepted.
func ParseDays(s string) (int, error) {
	s = strings.TrimSpace(s)
	switch s {
	case "", "0", "off":
		return 0, nil
	}
	want := fmt.Errorf("retention %q: want whole days such as 30d (or 720h), from %d to %d days, or off",
		s, domain.MinRetentionDays, domain.MaxRetentionDays)
	var days int64
	if n, ok := strings.CutSuffix(s, "d"); ok {
		v, err := strconv.ParseInt(n, 10, 32)
		if err != nil {
			return 0, want
		}
		days = v
	} else {
		d, err := time.ParseDuration(s)
		if err != nil || d%(24*time.Hour) != 0 {
			return 0, want
		}
		days = int64(d / (24 * time.Hour))
	}
	if days < domain.MinRetentionDays || days > domain.MaxRetentionDays {
		return 0, want
	}
	return int(days), nil
}
