package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/tellyou/tellyou/events"
	"github.com/tellyou/tellyou/handlers/metrics"
	"github.com/tellyou/tellyou/projections"
)

// readyBudget bounds how long a readiness check waits for each dependency
// (the event store, and the NATS bus when there is one). The dependencies
// are probed at once, so a check answers within the budget however they
// behave, well inside the second /readyz allows itself (httpapi).
const readyBudget = 800 * time.Millisecond

// logHead is what readiness needs of the event store: the position of the
// log's last event.
type logHead interface {
	Head(ctx context.Context) (events.Position, error)
}

// busConn is what readiness needs of the NATS connection the bus between
// nodes holds (gateway.NATSBus.Conn): its state, known without I/O, and a
// round trip to the server. *nats.Conn is one.
type busConn interface {
	Status() nats.Status
	FlushWithContext(ctx context.Context) error
}

var _ busConn = (*nats.Conn)(nil)

// readinessConfig holds readiness's dependencies and settings.
type readinessConfig struct {
	// Store is the event log whose head the check reads. Required.
	Store logHead
	// Bus is the bus's NATS connection; nil when the node runs without one.
	Bus busConn
	// Runner reports the projections' state. Required.
	Runner *projections.Runner
	// MaxLag is how long a projection this node runs may stay behind a log
	// head it was shown. Required.
	MaxLag time.Duration
	// Budget bounds each dependency's probe (default readyBudget).
	Budget time.Duration
	// Now is the clock of MaxLag (default time.Now).
	Now func() time.Time
}

func (c *readinessConfig) setDefaults() {
	if c.Budget <= 0 {
		c.Budget = readyBudget
	}
	if c.Now == nil {
		c.Now = time.Now
	}
}

// readiness decides /readyz: the event store answers, the NATS bus (when
// configured) is connected and answers, no projection is failing, and no
// projection this node runs (holds the lease of) has stayed behind a log
// head it was shown for longer than maxLag. Another node runs the others;
// this one's view of their checkpoints is only refreshed while it stands by.
//
// The store and the bus are probed concurrently, each within the budget. A
// probe runs on a goroutine of its own and a check stops waiting for it at
// the budget, even if the driver under it ignores its context: such a probe
// keeps running, and the checks that come meanwhile wait for it instead of
// starting another, so a hung dependency holds one goroutine, not one per
// check.
type readiness struct {
	runner *projections.Runner
	maxLag time.Duration
	budget time.Duration
	now    func() time.Time
	store  *probe[events.Position]
	bus    *probe[struct{}] // nil without a bus

	mu     sync.Mutex
	behind map[string]behindSince
}

// behindSince is a log head a projection had not reached, and when that was
// first seen.
type behindSince struct {
	head  events.Position
	since time.Time
}

func newReadiness(cfg readinessConfig) (*readiness, error) {
	cfg.setDefaults()
	if cfg.Store == nil || cfg.Runner == nil || cfg.MaxLag <= 0 {
		return nil, errors.New("readiness: want a Store, a Runner and a positive MaxLag")
	}
	r := &readiness{runner: cfg.Runner, maxLag: cfg.MaxLag, budget: cfg.Budget, now: cfg.Now,
		store: newProbe(cfg.Budget, cfg.Store.Head), behind: map[string]behindSince{}}
	if cfg.Bus != nil {
		r.bus = newProbe(cfg.Budget, func(ctx context.Context) (struct{}, error) { return struct{}{}, pingBus(ctx, cfg.Bus) })
	}
	return r, nil
}

// Check returns nil when the node is ready to serve, or why not. It returns
// within the budget (sooner if ctx ends sooner). An unreachable dependency
// is reported before any projection: a projection stopped by a database
// outage is its consequence.
func (r *readiness) Check(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, r.budget)
	defer cancel()
	var busErr error
	var probed sync.WaitGroup
	if r.bus != nil {
		probed.Go(func() { busErr = r.checkBus(ctx) })
	}
	head, storeErr := r.checkStore(ctx)
	probed.Wait()
	if err := joinReasons(storeErr, busErr); err != nil {
		return err
	}
	return r.checkProjections(head)
}

// checkStore reads the log's head within ctx.
func (r *readiness) checkStore(ctx context.Context) (events.Position, error) {
	head, err := r.store.result(ctx)
	if err != nil {
		return 0, r.dependencyFailed("event store", err)
	}
	return head, nil
}

// checkBus probes the bus's connection within ctx.
func (r *readiness) checkBus(ctx context.Context) error {
	if _, err := r.bus.result(ctx); err != nil {
		return r.dependencyFailed("message bus (NATS)", err)
	}
	return nil
}

// errBusDisconnected marks a bus whose connection is not up.
var errBusDisconnected = errors.New("disconnected")

// pingBus fails at once when the connection is not up, and otherwise makes
// a round trip to the server within ctx.
func pingBus(ctx context.Context, bus busConn) error {
	if st := bus.Status(); st != nats.CONNECTED {
		return fmt.Errorf("%w (%s)", errBusDisconnected, st)
	}
	if err := bus.FlushWithContext(ctx); err != nil {
		return fmt.Errorf("round trip: %w", err)
	}
	return nil
}

// dependencyFailed words a failed probe of the named dependency: a probe
// that timed out, or that the check stopped waiting for, did not answer.
func (r *readiness) dependencyFailed(name string, err error) error {
	switch {
	case errors.Is(err, errBusDisconnected):
		return fmt.Errorf("%s %w", name, err)
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("%s did not answer within %v", name, r.budget)
	default:
		return fmt.Errorf("%s unreachable: %w", name, err)
	}
}

// checkProjections applies the projection rules against the log's head.
func (r *readiness) checkProjections(head events.Position) error {
	now := r.now()
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, st := range r.runner.Status() {
		if st.Failing {
			return fmt.Errorf("projection %s is failing: %s", st.Name, st.LastError)
		}
		if !st.Leader || st.Position >= head {
			delete(r.behind, st.Name)
			continue
		}
		b, seen := r.behind[st.Name]
		if !seen || st.Position >= b.head {
			r.behind[st.Name] = behindSince{head: head, since: now}
			continue
		}
		if now.Sub(b.since) > r.maxLag {
			return fmt.Errorf("projection %s has been behind the log for more than %v", st.Name, r.maxLag)
		}
	}
	return nil
}

// joinReasons joins the errors that are not nil into one, whose text is
// theirs separated by "; " (one line, for the /readyz answer).
func joinReasons(errs ...error) error {
	var texts []string
	var kept []error
	for _, err := range errs {
		if err != nil {
			texts, kept = append(texts, err.Error()), append(kept, err)
		}
	}
	if len(kept) == 0 {
		return nil
	}
	return &reasons{text: strings.Join(texts, "; "), errs: kept}
}

// reasons is several reasons a node is not ready.
type reasons struct {
	text string
	errs []error
}

func (r *reasons) Error() string   { return r.text }
func (r *reasons) Unwrap() []error { return r.errs }

// probe runs one dependency check at a time, each bounded by budget and
// independent of the callers' contexts: callers that come while a run is
// under way wait for that run's result, until their own context ends.
type probe[T any] struct {
	budget time.Duration
	check  func(ctx context.Context) (T, error)

	mu  sync.Mutex
	run *probeRun[T] // the run under way, or the last one
}

// probeRun is one run of a probe; val and err are set before done closes.
type probeRun[T any] struct {
	done chan struct{}
	val  T
	err  error
}

func newProbe[T any](budget time.Duration, check func(ctx context.Context) (T, error)) *probe[T] {
	return &probe[T]{budget: budget, check: check}
}

// result waits for the run under way, or starts one, and returns its
// result; ctx's error if ctx ends first.
func (p *probe[T]) result(ctx context.Context) (T, error) {
	run := p.current()
	select {
	case <-run.done:
		return run.val, run.err
	case <-ctx.Done():
		var zero T
		return zero, ctx.Err()
	}
}

// current returns the run under way, starting one when none is.
func (p *probe[T]) current() *probeRun[T] {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.run != nil {
		select {
		case <-p.run.done:
		default:
			return p.run
		}
	}
	run := &probeRun[T]{done: make(chan struct{})}
	p.run = run
	go func() {
		defer close(run.done)
		ctx, cancel := context.WithTimeout(context.Background(), p.budget)
		defer cancel()
		run.val, run.err = p.check(ctx)
	}()
	return run
}

// lagCap bounds the events counted behind a checkpoint at each scrape.
const lagCap = 1000

// projectionSource feeds the projection lag metrics.
func projectionSource(store events.Store, runner *projections.Runner) metrics.ProjectionSource {
	return func(ctx context.Context) (int64, []metrics.ProjectionState, error) {
		head, err := store.Head(ctx)
		if err != nil {
			return 0, nil, err
		}
		var states []metrics.ProjectionState
		for _, st := range runner.Status() {
			behind := int64(0)
			if st.Position < head {
				recs, err := store.ReadAll(ctx, st.Position, lagCap)
				if err != nil {
					return 0, nil, err
				}
				behind = int64(len(recs))
			}
			states = append(states, metrics.ProjectionState{Name: st.Name, Checkpoint: int64(st.Position), Behind: behind, Failing: st.Failing})
		}
		return int64(head), states, nil
	}
}
