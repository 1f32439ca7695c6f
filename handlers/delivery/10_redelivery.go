package delivery

import (
	"context"
	"time"
)

// pendingPush is a pushed message not yet acked as received.
type pendingPush struct {
	sessionID string
	seq       int64
	frame     []byte
	due       time.Time
	// attempts counts the redeliveries so far.
	attempts int
}

// redeliveries holds one connection's pending pushes in due order: every entry
// is due one redelivery timeout after its last push (or postponement), so
// appending keeps the queue sorted and the sweep only looks at its head.
type redeliveries struct {
	queue []*pendingPush
}

// add appends p; past max entries the oldest is dropped (it waits in the
// user's inbox).
func (r *redeliveries) add(p *pendingPush, max int) {
	if len(r.queue) >= max {
		r.queue[0] = nil
		r.queue = r.queue[1:]
	}
	r.queue = append(r.queue, p)
}

// acked drops the session's entries up to seq.
func (r *redeliveries) acked(sessionID string, seq int64) {
	kept := r.queue[:0]
	for _, p := range r.queue {
		if p.sessionID != sessionID || p.seq > seq {
			kept = append(kept, p)
		}
	}
	clear(r.queue[len(kept):])
	r.queue = kept
}

// postpone makes every entry due no earlier than one timeout from now,
// keeping the queue's order.
func (r *redeliveries) postpone(now time.Time, timeout time.Duration) {
	due := now.Add(timeout)
	for _, p := range r.queue {
		if p.due.Before(due) {
			p.due = due
		}
	}
}

// due returns the frames due at now and re-queues them for the next timeout;
// an entry pushed again maxAttempts times is dropped.
func (r *redeliveries) due(now time.Time, timeout time.Duration, maxAttempts int) [][]byte {
	var out [][]byte
	for len(r.queue) > 0 && !r.queue[0].due.After(now) {
		p := r.queue[0]
		r.queue[0] = nil
		r.queue = r.queue[1:]
		out = append(out, p.frame)
		p.attempts++
		if p.attempts < maxAttempts {
			p.due = now.Add(timeout)
			r.queue = append(r.queue, p)
		}
	}
	if len(r.queue) == 0 {
		r.queue = nil // let a drained queue's array go
	}
	return out
}

// sweep redelivers due messages until ctx ends, checking a few times per
// timeout.
func (h *Hub) sweep(ctx context.Context) {
	interval := min(max(h.cfg.RedeliveryTimeout/4, 10*time.Millisecond), time.Second)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			h.redeliver(now)
		}
	}
}

func (h *Hub) redeliver(now time.Time) {
	h.mu.RLock()
	clients := make([]*Client, 0, len(h.users))
	for _, set := range h.users {
		for c := range set {
			clients = append(clients, c)
		}
	}
	h.mu.RUnlock()
	for _, c := range clients {
		for _, frame := range c.due(now) {
			if !c.out.Enqueue(frame) {
				break
			}
			h.cfg.Metrics.Redeliveries.Inc()
		}
	}
}
