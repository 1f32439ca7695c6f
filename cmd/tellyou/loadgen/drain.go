package loadgen

import (
	"context"
	"math/rand/v2"
	"sync/atomic"
	"time"
)

// quietDrain is how long drain waits without a new push before it stops
// expecting more. Pushes follow the log, whose readers wait for every older
// write transaction on the PostgreSQL server: another client's transaction can
// pause them for seconds.
const quietDrain = 5 * time.Second

// drain waits, at most Drain, until every send is answered and the pushes
// have arrived: all expected ones when every recipient stays online, else
// until no push arrived for quietDrain.
func (r *run) drain(ctx context.Context) {
	deadline := time.Now().Add(r.cfg.Drain)
	lastProgress, last := time.Now(), int64(-1)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		inFlight := 0
		for _, d := range r.devices {
			inFlight += d.inFlight()
		}
		delivered := r.rec.delivered.Load() + r.rec.repeats.Load() + r.rec.synced.Load()
		if delivered != last {
			last, lastProgress = delivered, time.Now()
		}
		if inFlight == 0 {
			if r.recipients > 0 && r.cfg.Scenario != ScenarioReconnect && r.rec.delivered.Load() >= r.rec.acked.Load()*int64(r.recipients) {
				return
			}
			if time.Since(lastProgress) > quietDrain {
				return
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// reconnecting is a device of the reconnect scenario: it sends for a short
// life of 0.3-1.5 s, waits for its answers, drops the connection without a
// close frame, reconnects and syncs its session from the last seq it holds;
// again until sendCtx ends. Its last connection stays open for the drain.
func (r *run) reconnecting(ctx, sendCtx context.Context, d *device, interval time.Duration, budget *atomic.Int64) {
	for i := 0; sendCtx.Err() == nil; i++ {
		if i > 0 {
			d.close(false)
			if !r.redial(sendCtx, d) {
				return
			}
			r.rec.reconnects.Add(1)
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

// redial reconnects d, retrying a few times; it gives up when ctx ends.
func (r *run) redial(ctx context.Context, d *device) bool {
	for attempt := range 5 {
		if r.dial(ctx, d, attempt) {
			return true
		}
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
