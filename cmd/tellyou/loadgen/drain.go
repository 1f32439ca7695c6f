package loadgen

import (
	"context"
	"fmt"
	"time"
)

// quietDrain is how long the drain waits without a new push before it stops
// expecting more. Pushes follow the log, whose readers wait for every older
// write transaction on the PostgreSQL server: another client's transaction can
// pause them for seconds.
const quietDrain = 5 * time.Second

// missingAfter is when, after the senders stopped, the deliveries still
// missing are counted a first time.
const missingAfter = 5 * time.Second

// countsDeliveries reports whether every push of the step can be expected:
// every recipient stays online (not so in the reconnect scenario).
func (c *coordinator) countsDeliveries() bool {
	return c.recipients > 0 && c.cfg.Scenario != ScenarioReconnect
}

// drain waits, at most Drain after sendEnd, until every send has its final
// answer and the pushes have arrived: all expected ones when every
// recipient stays online, else until none arrived for quietDrain. It
// returns the deliveries missing missingAfter after sendEnd, or at its end
// when it ended sooner (-1 when pushes cannot be expected).
func (c *coordinator) drain(ctx context.Context, sendEnd time.Time) (int64, error) {
	deadline := sendEnd.Add(c.cfg.Drain)
	lastArrival, last := time.Now(), int64(-1)
	missing5s := int64(-1)
	for {
		p, err := c.sum(ctx)
		if err != nil {
			return 0, fmt.Errorf("progress: %w", err)
		}
		missing := max(0, p.Acked*int64(c.recipients)-p.Delivered)
		if c.countsDeliveries() && missing5s < 0 && time.Since(sendEnd) >= missingAfter {
			missing5s = missing
		}
		if p.Arrived != last {
			last, lastArrival = p.Arrived, time.Now()
		}
		complete := c.countsDeliveries() && missing == 0
		quiet := time.Since(lastArrival) > quietDrain
		if (p.InFlight == 0 && (complete || quiet)) || !time.Now().Before(deadline) || ctx.Err() != nil {
			if c.countsDeliveries() && missing5s < 0 {
				missing5s = missing
			}
			return missing5s, ctx.Err()
		}
		time.Sleep(pollEvery)
	}
}

// countDeliveries sets the report's expected and missing deliveries when
// every push can be expected.
func (c *coordinator) countDeliveries(rep *Report, missing5s int64) {
	if !c.countsDeliveries() {
		return
	}
	expected := rep.Acked * int64(rep.Recipients)
	missing := max(0, expected-rep.Delivered)
	rep.ExpectedDeliveries, rep.Missing, rep.MissingAfter5s = &expected, &missing, &missing5s
}
