package loadgen

import (
	"context"
	"fmt"
	"time"
)

// settleWindow is the span over which the server must look idle.
const settleWindow = 2 * time.Second

// idleCores is the CPU use under which the server counts as idle.
const idleCores = 0.1

// settle waits, at most cfg.Settle, until the server is idle: under
// idleCores over settleWindow, and no push or synced message reaching the
// run's connections in that time (pushes queued in one step must not count
// against the next). It returns the seconds it waited, and a note when it
// gave up or could not tell.
func (c *coordinator) settle(ctx context.Context) (float64, string) {
	if c.cfg.Settle < 0 {
		return 0, ""
	}
	start := time.Now()
	waited := func() float64 { return time.Since(start).Seconds() }
	prev, _, err := sampleServer(ctx, c.client, c.cfg.Addr, c.cfg.ServerPID)
	if err != nil {
		return 0, fmt.Sprintf("not settled: the server's CPU is unreadable: %v", err)
	}
	prevArrived, err := c.arrived(ctx)
	if err != nil {
		return 0, fmt.Sprintf("not settled: %v", err)
	}
	for {
		select {
		case <-ctx.Done():
			return waited(), "not settled: " + ctx.Err().Error()
		case <-time.After(settleWindow):
		}
		cur, _, err := sampleServer(ctx, c.client, c.cfg.Addr, c.cfg.ServerPID)
		if err != nil {
			return waited(), fmt.Sprintf("not settled: the server's CPU is unreadable: %v", err)
		}
		arrived, err := c.arrived(ctx)
		if err != nil {
			return waited(), fmt.Sprintf("not settled: %v", err)
		}
		if idle(prev, cur, settleWindow, arrived-prevArrived) {
			return waited(), ""
		}
		if time.Since(start) >= c.cfg.Settle {
			return waited(), fmt.Sprintf("the server was still busy after %s", c.cfg.Settle.Round(time.Second))
		}
		prev, prevArrived = cur, arrived
	}
}

// arrived is the pushes and synced messages the parts have counted.
func (c *coordinator) arrived(ctx context.Context) (int64, error) {
	p, err := c.sum(ctx)
	return p.Arrived, err
}

// idle reports whether the server used under idleCores between two samples
// window apart while arrivals messages reached the run's connections.
func idle(prev, cur serverSample, window time.Duration, arrivals int64) bool {
	return arrivals == 0 && cur.cpu-prev.cpu < idleCores*window.Seconds()
}
