package push

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/tellyou/tellyou/events"
)

// Log is what the Follower needs of the event store.
type Log interface {
	Head(ctx context.Context) (events.Position, error)
	Subscribe(ctx context.Context, after events.Position, batchSize int, handle func(ctx context.Context, batch []events.RecordedEvent) error) error
}

var _ Log = events.Store(nil)

// FollowerConfig configures a Follower.
type FollowerConfig struct {
	// Store is the event log to follow. Required.
	Store Log
	// Publisher carries the events to the hubs. Required.
	Publisher message.Publisher
	// Topic is the topic events are published on (default DefaultEventsTopic).
	Topic string
	// BatchSize is how many events one read of the log takes (default 100).
	BatchSize int
	// RetryDelay is the pause before reading the log again after a failure
	// (default 1 s).
	RetryDelay time.Duration
	// Logger receives failures (default slog.Default()).
	Logger *slog.Logger
}

func (c *FollowerConfig) setDefaults() {
	if c.Topic == "" {
		c.Topic = DefaultEventsTopic
	}
	if c.BatchSize <= 0 {
		c.BatchSize = 100
	}
	if c.RetryDelay <= 0 {
		c.RetryDelay = time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}

// Validate reports missing dependencies.
func (c FollowerConfig) Validate() error {
	if c.Store == nil {
		return errors.New("push follower config: nil Store")
	}
	if c.Publisher == nil {
		return errors.New("push follower config: nil Publisher")
	}
	return nil
}

// Follower publishes the live event log on a bus topic, one bus message per
// event, in global log order.
type Follower struct {
	cfg   FollowerConfig
	ready chan struct{}
}

// NewFollower builds a Follower.
func NewFollower(cfg FollowerConfig) (*Follower, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Follower{cfg: cfg, ready: make(chan struct{})}, nil
}

// Ready is closed once Run has taken the log head it starts from: every event
// appended after that is published.
func (f *Follower) Ready() <-chan struct{} { return f.ready }

// Run publishes every event after the log head it finds at start, until ctx
// ends; then it returns nil. The head is the last event whose place in the log
// is final, so older history is never published (clients sync what they
// missed), while an append that was still committing may be. A failure to read the log or to
// publish is logged and retried from the last event published, so an event may
// be published twice (the hub drops the copy) but none is skipped. A publisher
// that blocks (a slow hub) makes Run wait; appends are never held up. Run must
// not be called twice.
func (f *Follower) Run(ctx context.Context) error {
	after, err := f.head(ctx)
	if err != nil {
		return nil // ctx ended
	}
	close(f.ready)
	publish := func(_ context.Context, batch []events.RecordedEvent) error {
		msgs := make([]*message.Message, 0, len(batch))
		for _, r := range batch {
			m, err := encodeEvent(r)
			if err != nil {
				return err
			}
			msgs = append(msgs, m)
		}
		if err := f.cfg.Publisher.Publish(f.cfg.Topic, msgs...); err != nil {
			return fmt.Errorf("publish on %s: %w", f.cfg.Topic, err)
		}
		after = batch[len(batch)-1].Position
		return nil
	}
	for {
		err := f.cfg.Store.Subscribe(ctx, after, f.cfg.BatchSize, publish)
		if ctx.Err() != nil {
			return nil
		}
		f.cfg.Logger.Warn("push follower: following the log failed, retrying", "after", after, "err", err)
		if !sleep(ctx, f.cfg.RetryDelay) {
			return nil
		}
	}
}

// head reads the log head, retrying until it succeeds or ctx ends.
func (f *Follower) head(ctx context.Context) (events.Position, error) {
	for {
		p, err := f.cfg.Store.Head(ctx)
		if err == nil {
			return p, nil
		}
		if ctx.Err() != nil {
			return 0, ctx.Err()
		}
		f.cfg.Logger.Warn("push follower: reading the log head failed, retrying", "err", err)
		if !sleep(ctx, f.cfg.RetryDelay) {
			return 0, ctx.Err()
		}
	}
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
