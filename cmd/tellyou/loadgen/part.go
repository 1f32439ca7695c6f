package loadgen

import (
	"context"
	"strconv"
	"time"
)

// part holds a share of a run's connections and plays the steps on them:
// the fleet in this process, or a worker process holding a fleet. The
// coordinator calls one method at a time per part.
type part interface {
	// connect opens the connections of pop (closing any earlier ones).
	connect(ctx context.Context, pop population) (connectResult, error)
	// arm clears the counts of the previous step. The coordinator arms every
	// part before it starts any: a part that cleared its counts after another
	// part's sends reached its connections would drop those pushes from the
	// step.
	arm(ctx context.Context) error
	// start begins a step's sending and returns; sending stops by itself
	// after the spec's duration or budget. It counts from the last arm.
	start(ctx context.Context, spec sendSpec) error
	progress(ctx context.Context) (progress, error)
	// finish stops the step (sending, acks) and returns what it measured.
	finish(ctx context.Context) (*tally, error)
	// disconnect closes every connection with a close frame.
	disconnect(ctx context.Context) error
	// close disconnects and releases the part.
	close() error
}

// population is the users a step connects: users 0..Users-1 of the run
// (named Prefix plus the number), of which a part holds From..To-1, each
// with ConnsPerUser connections.
type population struct {
	Scenario     string `json:"scenario"`
	Prefix       string `json:"prefix"`
	Users        int    `json:"users"`
	From         int    `json:"from"`
	To           int    `json:"to"`
	ConnsPerUser int    `json:"connsPerUser"`
	Group        string `json:"group,omitempty"` // the group scenario's session
}

func (p population) user(i int) string { return p.Prefix + strconv.Itoa(i) }

// connectResult is how a part's connections went.
type connectResult struct {
	Connected  int    `json:"connected"`
	Failures   int64  `json:"failures"`
	FirstError string `json:"firstError,omitempty"`
}

// sendSpec is a part's share of a step.
type sendSpec struct {
	Rate     float64       `json:"rate"`     // messages per second over the part's connections; 0: as fast as answers allow
	Duration time.Duration `json:"duration"` // 0: until the budget is spent
	Messages int64         `json:"messages"` // 0: no budget
	// Silent parts send nothing: their share of the run's budget is 0.
	Silent bool `json:"silent,omitempty"`
}

// progress is a part's state during a step; the coordinator sums them.
type progress struct {
	Sending   bool  `json:"sending"`
	InFlight  int64 `json:"inFlight"`  // sends without their final answer
	Acked     int64 `json:"acked"`     // sendAcks
	Delivered int64 `json:"delivered"` // first pushes of the run's messages
	// Arrived counts every push and synced message: it stops growing when
	// nothing more arrives.
	Arrived int64 `json:"arrived"`
}

func (p *progress) add(o progress) {
	p.Sending = p.Sending || o.Sending
	p.InFlight += o.InFlight
	p.Acked += o.Acked
	p.Delivered += o.Delivered
	p.Arrived += o.Arrived
}
