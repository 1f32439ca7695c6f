package delivery

import (
	"context"
	"fmt"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"

	"github.com/tellyou/tellyou/events"
)

// source is the way an event came to the hub.
type source int

const (
	sourceFast source = iota // this node's fast path
	sourceBus                // another node's fast path, over the bus
	sourceLog                // this node's follower of the log
)

func (s source) String() string {
	switch s {
	case sourceFast:
		return "fast"
	case sourceBus:
		return "bus"
	default:
		return "log"
	}
}

// Outcomes counted in metrics.Metrics.DeliveryEvents.
const (
	outcomeDelivered    = "delivered"     // handed to the connections (or nobody was online)
	outcomeRepeated     = "repeated"      // a copy of an event already delivered
	outcomeOverflow     = "overflow"      // the shard's inbox was full; the follower delivers it
	outcomeNotPublished = "not_published" // the bus queue was full; other nodes' followers deliver it
)

// expireInterval is how often a shard looks for runs held too long and
// sessions to forget.
const expireInterval = 100 * time.Millisecond

// item is one piece of a shard's inbox: a run that came by a fast path, or
// events the follower handed over, up to a position.
type item struct {
	source source
	run    appendOf
	// followed are the follower's events for this shard, in log order;
	// upTo the position the follower has handed over everything up to.
	followed []*event
	upTo     events.Position
	// done, when set, is closed once the item is handled.
	done chan struct{}
}

// shard delivers the events of the sessions that hash to it, one at a time:
// per session, pushes go out in version order.
type shard struct {
	hub     *Hub
	in      chan item
	order   *sequencer
	members *lru.Cache[string, []string]
}

func newShard(h *Hub) (*shard, error) {
	members, err := lru.New[string, []string](max(h.cfg.MemberCacheSize/h.cfg.Shards, 1))
	if err != nil {
		return nil, fmt.Errorf("delivery member cache: %w", err)
	}
	return &shard{hub: h, in: make(chan item, h.cfg.InboxSize), members: members,
		order: newSequencer(h.cfg.HoldTimeout, h.cfg.ForgetAfter)}, nil
}

// run handles the inbox until ctx ends.
func (sh *shard) run(ctx context.Context) {
	tick := time.NewTicker(expireInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case it := <-sh.in:
			sh.handle(ctx, it)
		case now := <-tick.C:
			out, skipped := sh.order.expire(now)
			if skipped > 0 {
				sh.hub.cfg.Metrics.DeliveryGapsSkipped.Add(float64(skipped))
				sh.hub.cfg.Logger.Warn("delivery: pushed events without the ones before them, which did not come in time",
					"sessions", skipped, "hold_timeout", sh.hub.cfg.HoldTimeout)
			}
			sh.deliverAll(ctx, sourceLog, out)
		}
	}
}

func (sh *shard) handle(ctx context.Context, it item) {
	if it.done != nil {
		defer close(it.done)
	}
	now := time.Now()
	if it.source != sourceLog {
		sh.deliverAll(ctx, it.source, sh.order.offerRun(now, it.run))
	} else {
		for _, e := range it.followed {
			sh.deliverAll(ctx, sourceLog, sh.order.offerFollowed(now, e))
		}
		sh.deliverAll(ctx, sourceLog, sh.order.markFollowed(it.upTo))
	}
	if n := sh.order.repeated; n > 0 {
		sh.order.repeated = 0
		sh.hub.cfg.Metrics.DeliveryEvents.WithLabelValues(it.source.String(), outcomeRepeated).Add(float64(n))
	}
}

// deliverAll delivers events in order; src labels the metrics.
func (sh *shard) deliverAll(ctx context.Context, src source, out []*event) {
	if len(out) == 0 {
		return
	}
	for _, e := range out {
		sh.deliverWithRetries(ctx, e)
	}
	sh.hub.cfg.Metrics.DeliveryEvents.WithLabelValues(src.String(), outcomeDelivered).Add(float64(len(out)))
}

// deliverWithRetries delivers one event, trying again with backoff when it
// cannot (its session's members cannot be resolved), then dead-letters it.
func (sh *shard) deliverWithRetries(ctx context.Context, e *event) {
	if e.decodeErr != nil {
		sh.hub.deadLetter(e, fmt.Errorf("decode %s@%d: %w", e.streamID, e.version, e.decodeErr))
		return
	}
	interval := sh.hub.cfg.RetryInterval
	var err error
	for attempt := 0; attempt <= sh.hub.cfg.MaxRetries; attempt++ {
		if attempt > 0 {
			if !sleep(ctx, interval) {
				return
			}
			interval = min(2*interval, 8*sh.hub.cfg.RetryInterval)
		}
		if err = sh.deliver(ctx, e); err == nil || ctx.Err() != nil {
			return
		}
	}
	sh.hub.deadLetter(e, err)
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
