package loadgen

import (
	"context"
	"math/rand/v2"
	"sync/atomic"
	"time"
)

// reconnecting is a device of the reconnect scenario: it sends for a short
// life of 0.3-1.5 s, waits for its answers, drops the connection without a
// close frame, reconnects and syncs its session from the last seq it holds;
// again until sendCtx ends. Its last connection stays open for the drain.
func (f *fleet) reconnecting(ctx, sendCtx context.Context, d *device, interval time.Duration, budget *atomic.Int64) {
	for i := 0; sendCtx.Err() == nil; i++ {
		if i > 0 {
			d.close(false)
			if !f.redial(sendCtx, d) {
				return
			}
			f.rec.reconnects.Add(1)
			if d.sends.Load() > 0 || d.holds(d.session) {
				d.syncFrom(ctx, d.session)
			}
		}
		lifeCtx, end := context.WithTimeout(sendCtx, 300*time.Millisecond+rand.N(1200*time.Millisecond))
		sendLoop(lifeCtx, d, interval, budget)
		end()
		d.ackLatest(ctx, "received")
		waitAnswered(ctx, d, 5*time.Second)
		if budget != nil && budget.Load() <= 0 {
			return
		}
	}
}

// redial reconnects d, retrying a few times; it gives up when ctx ends. A
// failure is counted.
func (f *fleet) redial(ctx context.Context, d *device) bool {
	for attempt := range 5 {
		err := f.dial(ctx, d, attempt)
		if err == nil {
			return true
		}
		if ctx.Err() != nil {
			return false // the step is ending: not the server's failure
		}
		f.rec.fail("dial")
		select {
		case <-ctx.Done():
			return false
		case <-time.After(100 * time.Millisecond):
		}
	}
	return false
}

// waitAnswered waits, at most limit, until d has no send in flight.
func waitAnswered(ctx context.Context, d *device, limit time.Duration) {
	deadline := time.Now().Add(limit)
	for d.inFlight() > 0 && time.Now().Before(deadline) && ctx.Err() == nil {
		time.Sleep(5 * time.Millisecond)
	}
}
