package command

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// Admission bounds the work this node takes on, so that an overloaded node
// answers at once that it is overloaded instead of queueing seconds of
// work: a command is refused with an *OverloadError, before anything is
// decided or stored, when
//
//   - the node already has MaxInFlight commands started and not answered, or
//   - it waited longer than MaxQueueDelay for its turn (behind the other
//     commands of its session and the appends of every session), or
//   - it comes from a client (a Gate) one of whose commands was refused so,
//     and it was queued after that command and before the retry time that
//     refusal named.
//
// The last rule keeps a client's commands in order: a client that pipelines
// sends and resends the refused ones, in order, after the retry time, never
// has a later send stored before an earlier refused one, while the commands
// it queued before the refused one go on.
type Admission struct {
	maxInFlight int64
	maxDelay    time.Duration
	minRetry    time.Duration
	now         func() time.Time

	inFlight atomic.Int64
	// delay is a moving average of the queue delays seen, in nanoseconds:
	// the retry hint follows it.
	delay atomic.Int64
	// done counts the commands answered; rate is how many per second
	// lately, measured at most every rateEvery (under rateMu).
	done     atomic.Int64
	rateMu   sync.Mutex
	rateAt   time.Time
	rateDone int64
	rate     float64
}

// rateEvery is how often the rate of answered commands is measured again.
const rateEvery = 250 * time.Millisecond

// AdmissionConfig tunes Admission. Zero values take the defaults.
type AdmissionConfig struct {
	// MaxInFlight bounds the commands started and not yet answered on this
	// node (default 4096).
	MaxInFlight int
	// MaxQueueDelay bounds how long a command may wait for its turn before it
	// is refused (default 500 ms): an admitted command is answered within
	// about this plus one append.
	MaxQueueDelay time.Duration
	// MinRetryAfter is the shortest retry hint (default 50 ms); the hint is
	// otherwise twice the recent queue delay, at most 5 s.
	MinRetryAfter time.Duration
}

// Admission defaults.
const (
	DefaultMaxInFlight   = 4096
	DefaultMaxQueueDelay = 500 * time.Millisecond
	DefaultMinRetryAfter = 50 * time.Millisecond
	// maxRetryAfter bounds the retry hint.
	maxRetryAfter = 5 * time.Second
)

func newAdmission(cfg AdmissionConfig, now func() time.Time) *Admission {
	if cfg.MaxInFlight <= 0 {
		cfg.MaxInFlight = DefaultMaxInFlight
	}
	if cfg.MaxQueueDelay <= 0 {
		cfg.MaxQueueDelay = DefaultMaxQueueDelay
	}
	if cfg.MinRetryAfter <= 0 {
		cfg.MinRetryAfter = DefaultMinRetryAfter
	}
	return &Admission{maxInFlight: int64(cfg.MaxInFlight), maxDelay: cfg.MaxQueueDelay,
		minRetry: min(cfg.MinRetryAfter, maxRetryAfter), now: now}
}

// OverloadError refuses a command the node did not take on: nothing was
// decided or stored, and the client may send it again after RetryAfter.
type OverloadError struct {
	RetryAfter time.Duration
	Reason     string
}

func (e *OverloadError) Error() string {
	return fmt.Sprintf("overloaded (%s): retry after %s", e.Reason, e.RetryAfter)
}

var _ error = (*OverloadError)(nil)

// Gate is one client's line of commands (a WebSocket connection). Once one of
// its commands is refused as overloaded, the commands it queued from then on
// and before the retry time are refused too. A nil *Gate is a client with no
// line of its own (an HTTP request). Safe for concurrent use.
type Gate struct {
	mu sync.Mutex
	// Commands queued in [from, until) are refused.
	from, until time.Time
}

// closedFor returns how long a command queued at queued must still wait, or
// 0 when the gate lets it through.
func (g *Gate) closedFor(queued time.Time) time.Duration {
	if g == nil {
		return 0
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if !queued.Before(g.from) && queued.Before(g.until) {
		return g.until.Sub(queued)
	}
	return 0
}

// close refuses the commands queued from from (the refused command's queue
// time) until until.
func (g *Gate) close(from, until time.Time) {
	if g == nil {
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.until.Before(from) {
		g.from, g.until = from, until // the earlier refusal is over
		return
	}
	g.from = minTime(g.from, from)
	if until.After(g.until) {
		g.until = until
	}
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// enter counts a command in, or refuses it when the node has MaxInFlight
// already or its gate is closed. An exempt command (a receipt: refusing it
// would only cause redeliveries) is counted and never refused.
func (a *Admission) enter(g *Gate, exempt bool) error {
	if exempt {
		a.inFlight.Add(1)
		return nil
	}
	now := a.now()
	if wait := g.closedFor(now); wait > 0 {
		return &OverloadError{RetryAfter: wait, Reason: "an earlier command of this connection was refused"}
	}
	if a.inFlight.Add(1) > a.maxInFlight {
		a.inFlight.Add(-1)
		retry := a.retryAfter()
		g.close(now, now.Add(retry))
		return &OverloadError{RetryAfter: retry, Reason: "too many commands in flight"}
	}
	return nil
}

// leave counts a command that entered out, once answered.
func (a *Admission) leave() {
	a.inFlight.Add(-1)
	a.done.Add(1)
}

// admit decides, when a command's turn comes, whether it is still worth
// doing: not when it waited longer than MaxQueueDelay, or its gate closed
// after it was queued.
func (a *Admission) admit(queued time.Time, g *Gate, exempt bool) error {
	now := a.now()
	waited := now.Sub(queued)
	a.observe(waited)
	if exempt {
		return nil
	}
	if wait := g.closedFor(queued); wait > 0 {
		return &OverloadError{RetryAfter: max(wait-waited, a.minRetry), Reason: "an earlier command of this connection was refused"}
	}
	if waited > a.maxDelay {
		retry := a.retryAfter()
		g.close(queued, now.Add(retry))
		return &OverloadError{RetryAfter: retry, Reason: "waited too long for its turn"}
	}
	return nil
}

// observe folds a queue delay into the moving average (weight 1/8).
func (a *Admission) observe(d time.Duration) {
	for {
		old := a.delay.Load()
		next := old + (int64(d)-old)/8
		if a.delay.CompareAndSwap(old, next) {
			return
		}
	}
}

// retryAfter is the retry hint: the longer of twice the recent queue delay
// and the time the node takes to answer the commands it has in flight at its
// recent rate, within [MinRetryAfter, maxRetryAfter]. The work taken on now
// should be done by then, so that a client that waits this long finds room
// instead of adding to a storm of refusals.
func (a *Admission) retryAfter() time.Duration {
	hint := 2 * time.Duration(a.delay.Load())
	if rate := a.answerRate(); rate > 0 {
		hint = max(hint, time.Duration(float64(a.inFlight.Load())/rate*float64(time.Second)))
	}
	return min(max(hint, a.minRetry), maxRetryAfter)
}

// answerRate returns the commands answered per second lately (0 before it
// is known).
func (a *Admission) answerRate() float64 {
	a.rateMu.Lock()
	defer a.rateMu.Unlock()
	now := a.now()
	if elapsed := now.Sub(a.rateAt); elapsed >= rateEvery {
		done := a.done.Load()
		if !a.rateAt.IsZero() {
			a.rate = float64(done-a.rateDone) / elapsed.Seconds()
		}
		a.rateAt, a.rateDone = now, done
	}
	return a.rate
}

// InFlight returns the commands started and not yet answered.
func (a *Admission) InFlight() int { return int(a.inFlight.Load()) }
