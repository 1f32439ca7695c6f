package feedbus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tellyou/tellyou/events"
	"github.com/tellyou/tellyou/projections/lease"
)

// Log is what a Relay needs of the event store.
type Log interface {
	Subscribe(ctx context.Context, after events.Position, batchSize int, handle func(ctx context.Context, batch []events.RecordedEvent) error) error
}

var _ Log = events.Store(nil)

// RelayConfig configures a Relay.
type RelayConfig struct {
	// Store is the event log to publish. Required.
	Store Log
	// Pool is the database of the relay's checkpoint, prepared by Migrate.
	// Required. The lease takes one more connection, outside the pool, to
	// the same database.
	Pool *pgxpool.Pool
	// Publisher carries the feed, e.g. NATSFeed.Publisher(). Required. Its
	// Publish must return only once the broker holds the messages: the
	// checkpoint moves past them right after.
	Publisher message.Publisher
	// Topic is the topic the feed is published on (default DefaultTopic).
	Topic string
	// Name names the relay's checkpoint and lease (default Topic). Relays
	// that share a name and a database publish one at a time and resume from
	// each other's checkpoint.
	Name string
	// BatchSize is how many events one read of the log takes and one Publish
	// call carries (default 100).
	BatchSize int
	// LeaseRetry is how often a standby tries to take the lease and a holder
	// checks its lease connection (default 1 s).
	LeaseRetry time.Duration
	// RetryBackoff is the wait after a failure to read the log, publish or
	// store the checkpoint; it doubles after each further failure up to
	// MaxRetryBackoff and starts again after a batch is published. Defaults:
	// 100 ms and 30 s.
	RetryBackoff    time.Duration
	MaxRetryBackoff time.Duration
	// Logger receives failures and lease changes (default slog.Default()).
	Logger *slog.Logger
}

func (c *RelayConfig) setDefaults() {
	if c.Topic == "" {
		c.Topic = DefaultTopic
	}
	if c.Name == "" {
		c.Name = c.Topic
	}
	if c.BatchSize <= 0 {
		c.BatchSize = 100
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
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}

// Validate reports a configuration the relay cannot work with.
func (c RelayConfig) Validate() error {
	switch {
	case c.Store == nil:
		return errors.New("feed relay config: nil Store")
	case c.Pool == nil:
		return errors.New("feed relay config: nil Pool")
	case c.Publisher == nil:
		return errors.New("feed relay config: nil Publisher")
	}
	return nil
}

// Relay publishes the global event log on a topic: one message per event (see
// NewMessage), every event from the start of the log, in global order.
//
// Guarantees:
//   - At least once, in order: a batch is published, and Publish has
//     returned, before the checkpoint moves past it. After a crash or a
//     failure the relay publishes again from the checkpoint, so the events
//     of the last batch may be published twice; on NATS the stream drops
//     such copies within its duplicate window (message UUID = event id =
//     Nats-Msg-Id), and the first copies stay in global order.
//   - One publisher at a time per Name and database, through the lease. The
//     checkpoint only moves forward, whoever writes it.
//   - A failure is logged and retried with backoff; Run never skips an
//     event, so an event the relay cannot render holds the feed up.
type Relay struct {
	cfg     RelayConfig
	running atomic.Bool

	mu     sync.Mutex
	status RelayStatus
}

// RelayStatus is where a relay stands.
type RelayStatus struct {
	// Leader is true while this relay holds the lease and publishes.
	Leader bool
	// Position is the checkpoint as this relay last read or wrote it.
	Position events.Position
	// LastError is the latest failure ("" when there was none).
	LastError string
}

// NewRelay returns a relay for cfg with defaults filled in.
func NewRelay(cfg RelayConfig) (*Relay, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Relay{cfg: cfg}, nil
}

// Topic is the topic the relay publishes on.
func (r *Relay) Topic() string { return r.cfg.Topic }

// Status returns where the relay stands; safe to call from any goroutine.
func (r *Relay) Status() RelayStatus {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.status
}

// Run publishes the feed while it holds the lease (see projections/lease),
// and competes for the lease otherwise, until ctx ends; then it releases the
// lease and returns nil. A second concurrent Run returns an error at once.
func (r *Relay) Run(ctx context.Context) error {
	if !r.running.CompareAndSwap(false, true) {
		return errors.New("feed relay already running")
	}
	defer r.running.Store(false)
	lease.Hold(ctx, lease.Config{
		// A namespace of its own: a relay and a projection never share a lease.
		Pool: r.cfg.Pool, Key: "tellyou.feed.lease:" + r.cfg.Name, Retry: r.cfg.LeaseRetry,
		Taken: func() {
			r.cfg.Logger.Info("feed relay lease taken", "relay", r.cfg.Name, "topic", r.cfg.Topic)
			r.setLeader(true)
		},
		Lost: func(err error) {
			r.cfg.Logger.Warn("feed relay lease lost", "relay", r.cfg.Name, "err", err)
		},
		Released:    func() { r.setLeader(false) },
		Unavailable: func(err error) { r.fail(fmt.Errorf("feed lease unavailable: %w", err)) },
		// A standby keeps Status().Position at the stored checkpoint.
		Waiting: func(ctx context.Context) {
			if pos, err := ReadCheckpoint(ctx, r.cfg.Pool, r.cfg.Name); err == nil {
				r.setPosition(pos)
			}
		},
	}, r.publish)
	return nil
}

// checkpointTimeout bounds the write of a checkpoint, which a stop does not
// cut short.
const checkpointTimeout = 10 * time.Second

// publish follows the log from the stored checkpoint and publishes it until
// ctx ends, resubscribing with backoff after each failure.
func (r *Relay) publish(ctx context.Context) {
	backoff := r.cfg.RetryBackoff
	var progressed atomic.Bool
	for ctx.Err() == nil {
		err := r.follow(ctx, &progressed)
		if ctx.Err() != nil {
			return
		}
		if progressed.Swap(false) {
			backoff = r.cfg.RetryBackoff
		}
		r.fail(err)
		if !sleep(ctx, backoff) {
			return
		}
		backoff = min(2*backoff, r.cfg.MaxRetryBackoff)
	}
}

// follow subscribes from the stored checkpoint and publishes each batch,
// then moves the checkpoint past it, until a step fails or ctx ends.
func (r *Relay) follow(ctx context.Context, progressed *atomic.Bool) error {
	pos, err := ReadCheckpoint(ctx, r.cfg.Pool, r.cfg.Name)
	if err != nil {
		return err
	}
	r.setPosition(pos)
	err = r.cfg.Store.Subscribe(ctx, pos, r.cfg.BatchSize, func(ctx context.Context, batch []events.RecordedEvent) error {
		if len(batch) == 0 {
			return nil
		}
		msgs := make([]*message.Message, 0, len(batch))
		for _, rec := range batch {
			m, err := NewMessage(rec)
			if err != nil {
				return err
			}
			msgs = append(msgs, m)
		}
		if err := r.cfg.Publisher.Publish(r.cfg.Topic, msgs...); err != nil {
			return fmt.Errorf("publish feed up to position %d on %s: %w", batch[len(batch)-1].Position, r.cfg.Topic, err)
		}
		last := batch[len(batch)-1].Position
		// The batch is published: record it even when the relay is being
		// stopped meanwhile, rather than leave a write whose outcome the
		// next run (here or on another node) learns only after it read the
		// checkpoint.
		writeCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), checkpointTimeout)
		err := advanceCheckpoint(writeCtx, r.cfg.Pool, r.cfg.Name, last)
		cancel()
		if err != nil {
			return err
		}
		r.setPosition(last)
		progressed.Store(true)
		return nil
	})
	if err == nil {
		err = errors.New("log subscription ended")
	}
	return err
}

func (r *Relay) setLeader(leader bool) {
	r.mu.Lock()
	r.status.Leader = leader
	r.mu.Unlock()
}

func (r *Relay) setPosition(pos events.Position) {
	r.mu.Lock()
	r.status.Position = pos
	r.mu.Unlock()
}

func (r *Relay) fail(err error) {
	r.cfg.Logger.Error("feed relay failed", "relay", r.cfg.Name, "topic", r.cfg.Topic, "err", err)
	r.mu.Lock()
	r.status.LastError = err.Error()
	r.mu.Unlock()
}

// sleep pauses for d; false when ctx ended first.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
