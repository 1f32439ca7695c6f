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
//   - the node already has as many commands started and not answered as it
//     answers in TargetLatency at its recent rate (at most MaxInFlight), or
//   - it waited longer than MaxQueueDelay for its turn (behind the other
//     commands of its session and the appends of every session) while the
//     node has more than a little work in flight (64 commands, or
//     MaxInFlight-1 when that is less): a command that waited on a slow
//     database while the node had little to do gains nothing from a refusal,
//     or
//   - it comes from a client (a Gate) one of whose commands was refused so,
//     and it was queued after that command and before the retry time that
//     refusal named.
//
// The first rule is Little's law: the commands in flight divided by the rate
// of answers is how long an admitted command waits, so bounding them by the
// rate times a target bounds the wait, whatever the node's speed that day.
//
// The last rule keeps a client's commands in order: a client that pipelines
// sends and resends the refused ones, in order, after the retry time, never
// has a later send stored before an earlier refused one, while the commands
// it queued before the refused one go on.
//
// The retry hints form a waiting line: each refused command takes the next
// slot after the work in flight and the commands refused before it, one
// slot per command at the recent rate of answers, so that refused clients
// come back one after the other when there is room, rather than all at once
// into a node that must refuse most of them again.
type Admission struct {
	maxInFlight int64
	minInFlight int64
	// busy is the work in flight past which the queue-delay rule refuses.
	busy     int64
	target   time.Duration
	maxDelay time.Duration
	minRetry time.Duration
	now      func() time.Time

	inFlight atomic.Int64
	// limit is the bound on inFlight now, set at every measurement;
	// refused records that it refused a command since the last one.
	limit   atomic.Int64
	refused atomic.Bool
	// delay is a moving average of the queue delays seen, in nanoseconds:
	// the retry hint follows it.
	delay atomic.Int64
	// done counts the commands answered; rate is how many per second
	// lately, measured at most every rateEvery (under rateMu; measuredAt
	// lets callers skip the lock between measurements).
	done       atomic.Int64
	measuredAt atomic.Int64
	rateMu     sync.Mutex
	rateAt     time.Time
	rateDone   int64
	rate       float64
	// lineEnd is the end of the waiting line of refused commands (under
	// lineMu): when the last of them should find room.
	lineMu  sync.Mutex
	lineEnd time.Time
}

// rateEvery is how often the rate of answered commands is measured again.
const rateEvery = 250 * time.Millisecond

// AdmissionConfig tunes Admission. Zero values take the defaults.
type AdmissionConfig struct {
	// MaxInFlight bounds the commands started and not yet answered on this
	// node (default 4096), whatever its rate.
	MaxInFlight int
	// TargetLatency is the wait for an answer the in-flight bound aims at
	// (default 250 ms): the node admits about its recent rate of answers
	// times this many commands at once, at least 256 (or MaxInFlight when
	// that is lower).
	TargetLatency time.Duration
	// MaxQueueDelay bounds how long a command may wait for its turn before it
	// is refused (default 500 ms): an admitted command is answered within
	// about this plus one append.
	MaxQueueDelay time.Duration
	// MinRetryAfter is the shortest retry hint (default 50 ms); the hint is
	// otherwise the command's slot in the waiting line, at most 5 s.
	MinRetryAfter time.Duration
}

// Admission defaults.
const (
	DefaultMaxInFlight   = 4096
	DefaultTargetLatency = 250 * time.Millisecond
	DefaultMaxQueueDelay = 500 * time.Millisecond
	DefaultMinRetryAfter = 50 * time.Millisecond
	// minInFlight is the lowest in-flight bound the rate may set: enough
	// for a burst after a quiet spell, whose rate says little.
	minInFlight = 256
	// maxRetryAfter bounds the retry hint.
	maxRetryAfter = 5 * time.Second
)

func newAdmission(cfg AdmissionConfig, now func() time.Time) *Admission {
	if cfg.MaxInFlight <= 0 {
		cfg.MaxInFlight = DefaultMaxInFlight
	}
	if cfg.TargetLatency <= 0 {
		cfg.TargetLatency = DefaultTargetLatency
	}
	if cfg.MaxQueueDelay <= 0 {
		cfg.MaxQueueDelay = DefaultMaxQueueDelay
	}
	if cfg.MinRetryAfter <= 0 {
		cfg.MinRetryAfter = DefaultMinRetryAfter
	}
	a := &Admission{maxInFlight: int64(cfg.MaxInFlight), minInFlight: min(minInFlight, int64(cfg.MaxInFlight)),
		target: cfg.TargetLatency, maxDelay: cfg.MaxQueueDelay, minRetry: min(cfg.MinRetryAfter, maxRetryAfter), now: now}
	a.busy = min(minInFlight/4, a.maxInFlight-1)
	a.limit.Store(a.maxInFlight)
	return a
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
	a.measure(now)
	if wait := g.closedFor(now); wait > 0 {
		a.queueBehind(now)
		return &OverloadError{RetryAfter: wait, Reason: "an earlier command of this connection was refused"}
	}
	if a.inFlight.Add(1) > a.limit.Load() {
		a.inFlight.Add(-1)
		a.refused.Store(true)
		retry := a.retryAfter(now)
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
		a.queueBehind(now)
		return &OverloadError{RetryAfter: max(wait-waited, a.minRetry), Reason: "an earlier command of this connection was refused"}
	}
	if waited > a.maxDelay && a.inFlight.Load() > a.busy {
		a.refused.Store(true)
		retry := a.retryAfter(now)
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

// retryAfter is the retry hint of a command refused at now: its slot in the
// waiting line, which starts once the work in flight is done (or twice the
// recent queue delay, when longer) and holds one slot per refused command at
// the recent rate of answers; within [MinRetryAfter, maxRetryAfter].
func (a *Admission) retryAfter(now time.Time) time.Duration {
	hint := 2 * time.Duration(a.delay.Load())
	rate := a.answerRate()
	if rate > 0 {
		hint = max(hint, time.Duration(float64(a.inFlight.Load())/rate*float64(time.Second)))
	}
	start := now.Add(hint)
	a.lineMu.Lock()
	if a.lineEnd.After(start) {
		start = a.lineEnd
	}
	if rate > 0 {
		a.lineEnd = start.Add(time.Duration(float64(time.Second) / rate))
	}
	a.lineMu.Unlock()
	return min(max(start.Sub(now), a.minRetry), maxRetryAfter)
}

// queueBehind takes a slot in the waiting line for a command refused because
// its gate was closed: it comes back with the gate's other commands, and the
// clients refused after it should find room after it.
func (a *Admission) queueBehind(now time.Time) {
	rate := a.answerRate()
	if rate <= 0 {
		return
	}
	a.lineMu.Lock()
	if a.lineEnd.Before(now) {
		a.lineEnd = now
	}
	a.lineEnd = a.lineEnd.Add(time.Duration(float64(time.Second) / rate))
	a.lineMu.Unlock()
}

// measure measures the rate of answers again when rateEvery has passed
// since the last time, and sets the in-flight bound from it.
func (a *Admission) measure(now time.Time) {
	if now.UnixNano()-a.measuredAt.Load() < int64(rateEvery) {
		return
	}
	a.answerRate()
}

// answerRate returns the commands answered per second lately (0 before it
// is known), measuring it again when rateEvery has passed.
func (a *Admission) answerRate() float64 {
	a.rateMu.Lock()
	defer a.rateMu.Unlock()
	now := a.now()
	if elapsed := now.Sub(a.rateAt); elapsed >= rateEvery {
		done := a.done.Load()
		if !a.rateAt.IsZero() {
			a.rate = float64(done-a.rateDone) / elapsed.Seconds()
			a.setLimit()
		}
		a.rateAt, a.rateDone = now, done
		a.measuredAt.Store(now.UnixNano())
	}
	return a.rate
}

// setLimit sets the in-flight bound from the measured rate; the caller
// holds rateMu. While the node refuses work, it admits the commands it
// answers in TargetLatency at that rate. While it refuses none, its rate
// says how much work came, not how much it could do: the bound then grows
// back (doubling at every measurement) towards MaxInFlight, so that a burst
// after a quiet spell is not refused for the quiet spell's rate.
func (a *Admission) setLimit() {
	limit := int64(a.rate * a.target.Seconds())
	if !a.refused.Swap(false) {
		limit = max(limit, 2*a.limit.Load())
	}
	a.limit.Store(min(max(limit, a.minInFlight), a.maxInFlight))
}
