package notify

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/tellyou/tellyou/events/tail"
	"github.com/tellyou/tellyou/projections/lease"
)

// Trigger turns messages into offline notifications: it follows the
// committed log and, for each MessageSent, enqueues a notification for each
// member of the session but the sender who has not muted it and has no
// connection on any node.
//
// Guarantees:
//   - Exactly one decision per event: the outbox rows of a batch of events
//     and the checkpoint past them commit in one transaction, so after a
//     crash the trigger decides again from the checkpoint, and nothing is
//     lost or enqueued twice. The outbox keeps one row per (user, message)
//     besides, so two holders overlapping for a lease check add nothing.
//   - One trigger at a time per Name and database, through a lease (see
//     projections/lease); the others wait as standbys.
//   - A trigger that never ran starts at the head of the log: messages sent
//     before notifications were switched on wake nobody. Messages older than
//     MaxAge when read are skipped (OutcomeStale).
//   - Who is online is what this node's presence tracker knows when the
//     event is decided, shortly after its commit: a user who connects or
//     leaves in between may get a notification for a message pushed to them,
//     or none for one they missed. Membership and mutes are the session's
//     state when the event is decided.
type Trigger struct {
	cfg     TriggerConfig
	outbox  *Outbox
	running atomic.Bool
	leader  atomic.Bool
}

// NewTrigger returns a trigger for cfg with defaults filled in; Run starts it.
func NewTrigger(cfg TriggerConfig) (*Trigger, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Trigger{cfg: cfg, outbox: NewOutbox(cfg.Pool)}, nil
}

// Leader reports whether this trigger holds the lease.
func (t *Trigger) Leader() bool { return t.leader.Load() }

// Run decides notifications while it holds the lease and competes for it
// otherwise, until ctx ends; then it releases the lease and returns nil. A
// second concurrent Run returns an error at once.
func (t *Trigger) Run(ctx context.Context) error {
	if !t.running.CompareAndSwap(false, true) {
		return errors.New("notify trigger already running")
	}
	defer t.running.Store(false)
	lease.Hold(ctx, lease.Config{
		Pool: t.cfg.Pool, Key: "tellyou.notify.lease:" + t.cfg.Name, Retry: t.cfg.LeaseRetry,
		Taken: func() {
			t.cfg.Logger.Info("notify trigger lease taken", "trigger", t.cfg.Name)
			t.leader.Store(true)
		},
		Lost: func(err error) {
			t.cfg.Logger.Warn("notify trigger lease lost", "trigger", t.cfg.Name, "err", err)
		},
		Released:    func() { t.leader.Store(false) },
		Unavailable: func(err error) { t.fail(fmt.Errorf("lease unavailable: %w", err)) },
	}, t.work)
	return nil
}

// work follows the log until ctx ends, again with backoff after a failure.
func (t *Trigger) work(ctx context.Context) {
	backoff := t.cfg.RetryBackoff
	var progressed atomic.Bool
	for ctx.Err() == nil {
		err := t.follow(ctx, &progressed)
		if ctx.Err() != nil {
			return
		}
		if progressed.Swap(false) {
			backoff = t.cfg.RetryBackoff
		}
		t.fail(err)
		if !sleep(ctx, backoff) {
			return
		}
		backoff = min(2*backoff, t.cfg.MaxRetryBackoff)
	}
}

// commitTimeout bounds the transaction of a batch, which a stop does not cut
// short: its outcome is then known to the next holder.
const commitTimeout = 10 * time.Second

// follow subscribes from the checkpoint and decides each batch, until a step
// fails or ctx ends.
func (t *Trigger) follow(ctx context.Context, progressed *atomic.Bool) error {
	pos, ok, err := TriggerCheckpoint(ctx, t.cfg.Pool, t.cfg.Name)
	if err != nil {
		return err
	}
	if !ok {
		head, err := t.cfg.Log.Head(ctx)
		if err != nil {
			return fmt.Errorf("read the head of the log: %w", err)
		}
		if pos, err = startCheckpoint(ctx, t.cfg.Pool, t.cfg.Name, head); err != nil {
			return err
		}
		t.cfg.Logger.Info("notify trigger starts at the head of the log", "trigger", t.cfg.Name, "position", pos)
	}
	err = t.cfg.Log.Follow(ctx, pos, t.cfg.BatchSize, func(ctx context.Context, batch []*tail.Event) error {
		if len(batch) == 0 {
			return nil
		}
		var notes []Notification
		counts := map[string]int{}
		for _, ev := range batch {
			n, err := t.decide(ctx, ev, counts)
			if err != nil {
				return err
			}
			notes = append(notes, n...)
		}
		writeCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), commitTimeout)
		err := t.outbox.commit(writeCtx, t.cfg.Name, batch[len(batch)-1].Position, notes)
		cancel()
		if err != nil {
			return err
		}
		progressed.Store(true)
		if len(notes) > 0 && t.cfg.Enqueued != nil {
			t.cfg.Enqueued()
		}
		if t.cfg.Counted != nil {
			for outcome, n := range counts {
				t.cfg.Counted(outcome, n)
			}
		}
		return nil
	})
	if err == nil {
		err = errors.New("log subscription ended")
	}
	return err
}

func (t *Trigger) fail(err error) {
	t.cfg.Logger.Error("notify trigger failed", "trigger", t.cfg.Name, "err", err)
}

// sleep pauses for d; false when ctx ended first.
func sleep(ctx context.Context, d time.Duration) bool {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-timer.C:
		return true
	}
}
