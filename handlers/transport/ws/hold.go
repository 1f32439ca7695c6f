package ws

import (
	"sync"
	"time"
)

// resendGrace is how long past its retry time a connection waits for a
// refused send to come back before it lets other sends through: a client
// that gave the message up is not held back for longer.
const resendGrace = 10 * time.Second

// minHoldRetry is the least retry hint of a send refused to keep order.
const minHoldRetry = 10 * time.Millisecond

// resendHold keeps a connection's messages in the order the client sent
// them across overload refusals. The admission gate refuses the sends queued
// after a refused one until its retry time; but a send the connection reads
// only after that time (the node was slow to read it) may still have been
// sent before the client saw the refusal, and taking it would store it ahead
// of the refused message the client is about to resend. So, once a send is
// refused as overloaded, the connection refuses every other send until that
// one comes back (same clientMessageId), or until resendGrace past its retry
// time. Safe for concurrent use.
type resendHold struct {
	mu      sync.Mutex
	cid     string    // clientMessageId of the earliest refused send not resent yet; "" when none
	arrived time.Time // when its frame was read
	retryAt time.Time // its retry time
	until   time.Time // when the hold ends by itself
}

// refused records a send refused as overloaded, read at arrived, with the
// given retry hint. Of several refused sends the one read first is held.
func (h *resendHold) refused(cid string, arrived time.Time, retry time.Duration, now time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.cid != "" && now.Before(h.until) && !arrived.Before(h.arrived) {
		return // an earlier send is held already
	}
	h.cid, h.arrived, h.retryAt, h.until = cid, arrived, now.Add(retry), now.Add(retry+resendGrace)
}

// check returns 0 when a send with clientMessageId cid may go on, and the
// retry hint to refuse it with otherwise. The held send coming back ends the
// hold.
func (h *resendHold) check(cid string, now time.Time) time.Duration {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.cid == "" {
		return 0
	}
	if cid == h.cid || !now.Before(h.until) {
		h.cid = ""
		return 0
	}
	return max(h.retryAt.Sub(now), minHoldRetry)
}
