package delivery

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/tellyou/tellyou/events"
	"github.com/tellyou/tellyou/events/tail"
)

// Log is what the follower needs of the process's reader of the log.
type Log interface {
	Head(ctx context.Context) (events.Position, error)
	Follow(ctx context.Context, after events.Position, batchSize int, handle func(ctx context.Context, batch []*tail.Event) error) error
}

var _ Log = (*tail.Tail)(nil)

// FollowerConfig configures a Follower.
type FollowerConfig struct {
	// Log is the process's tail of the event log. Required.
	Log Log
	// Hub receives every event. Required.
	Hub *Hub
	// BatchSize is how many events one batch of the log holds (default 500).
	BatchSize int
	// RetryDelay is the pause before following again after a failure
	// (default 1 s).
	RetryDelay time.Duration
	// Logger receives failures (default slog.Default()).
	Logger *slog.Logger
}

func (c *FollowerConfig) setDefaults() {
	if c.BatchSize <= 0 {
		c.BatchSize = 500
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
	switch {
	case c.Log == nil:
		return errors.New("delivery follower config: nil Log")
	case c.Hub == nil:
		return errors.New("delivery follower config: nil Hub")
	}
	return nil
}

// Follower is the backstop of the fast path: it hands every event of the log
// after the head it starts at to its hub, in log order, so that what no fast
// path delivered (the node that appended it died before publishing, the bus
// was down, a shard's inbox was full) is delivered a moment later, and what a
// fast path did deliver is recognised as a copy. Every node runs one for its
// own connections.
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

// Ready is closed once Run has taken the position it follows from and told
// the hub's shards: every event appended after it is delivered.
func (f *Follower) Ready() <-chan struct{} { return f.ready }

// Run hands the log to the hub from the log's head at start (history is never
// pushed again: a reconnecting client syncs) until ctx ends; then it returns
// nil. It waits while a shard's inbox is full: the log waits for the hub,
// nothing is dropped. Run must not be called twice.
func (f *Follower) Run(ctx context.Context) error {
	var start events.Position
	for {
		var err error
		if start, err = f.cfg.Log.Head(ctx); err == nil {
			break
		}
		if ctx.Err() != nil {
			return nil
		}
		f.cfg.Logger.Warn("delivery follower: reading the log head failed, retrying", "err", err)
		if !sleep(ctx, f.cfg.RetryDelay) {
			return nil
		}
	}
	if !f.hand(ctx, nil, start) {
		return nil
	}
	close(f.ready)
	after := start
	for {
		err := f.cfg.Log.Follow(ctx, after, f.cfg.BatchSize, func(ctx context.Context, batch []*tail.Event) error {
			evs := make([]*event, len(batch))
			for i, e := range batch {
				evs[i] = fromTail(e)
			}
			last := batch[len(batch)-1].Position
			if !f.hand(ctx, evs, last) {
				return ctx.Err()
			}
			after = last
			return nil
		})
		if ctx.Err() != nil {
			return nil
		}
		f.cfg.Logger.Warn("delivery follower: following the log failed, retrying", "after", after, "err", err)
		if !sleep(ctx, f.cfg.RetryDelay) {
			return nil
		}
	}
}

// hand gives every shard its part of evs, in order, and the position the
// follower has now handed over everything up to; false when ctx ended.
func (f *Follower) hand(ctx context.Context, evs []*event, upTo events.Position) bool {
	h := f.cfg.Hub
	parts := make([][]*event, len(h.shards))
	for _, e := range evs {
		i := h.shardIndex(e.streamID)
		parts[i] = append(parts[i], e)
	}
	for i, sh := range h.shards {
		select {
		case sh.in <- item{source: sourceLog, followed: parts[i], upTo: upTo}:
		case <-ctx.Done():
			return false
		}
	}
	return true
}
