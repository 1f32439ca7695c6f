package projections

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tellyou/tellyou/events"
	"github.com/tellyou/tellyou/events/tail"
)

// Log is what the runner needs of the process's reader of the log.
type Log interface {
	Follow(ctx context.Context, after events.Position, batchSize int, handle func(ctx context.Context, batch []*tail.Event) error) error
}

var _ Log = (*tail.Tail)(nil)

// storeLog follows a store directly, decoding what it reads: for a runner
// that has no tail to share.
type storeLog struct {
	store  events.Store
	opener Opener
}

func (l storeLog) Follow(ctx context.Context, after events.Position, batchSize int, handle func(ctx context.Context, batch []*tail.Event) error) error {
	return l.store.Subscribe(ctx, after, batchSize, func(ctx context.Context, batch []events.RecordedEvent) error {
		return handle(ctx, decodeAll(ctx, batch, l.opener))
	})
}

// Opener opens the sealed content of a decoded payload
// (events/sealing.Sealer): the projections store content in clear, or mark
// it erased when its key is gone.
type Opener interface {
	Open(ctx context.Context, p events.Payload) (events.Payload, error)
}

// RunnerConfig configures a Runner.
type RunnerConfig struct {
	// Store is the event log the projections follow. Required.
	Store events.Store
	// Log is the process's reader of the log (events/tail), shared with
	// the other followers of the process, so that each event is read and
	// decoded once. Default: the projections read Store themselves.
	Log Log
	// Pool is the read models' database, prepared by readmodels.Migrate.
	// Required. Each projection holds one of its connections while it applies
	// a batch (and while it waits for a rebuild's switch to commit).
	Pool *pgxpool.Pool
	// Projections to run, each under a distinct name. Default: All().
	Projections []Projection
	// BatchSize bounds the events delivered, applied and checkpointed in one
	// transaction. Default: 500.
	BatchSize int
	// Logger receives failures and recoveries. Default: discards everything.
	Logger *slog.Logger
	// RetryBackoff is the wait after a failure; it doubles after each further
	// failure up to MaxRetryBackoff, and starts again after a batch succeeds.
	// Defaults: 100ms and 30s.
	RetryBackoff    time.Duration
	MaxRetryBackoff time.Duration
	// OnFailure, when set, is called at each failed attempt of a projection,
	// as the failure is logged: from that projection's goroutine, so it must
	// return quickly. err is an *EventError when the failure concerns an
	// event. Serve counts failures with it.
	OnFailure func(projection string, err error)
	// Leases, when set, makes the runner run a projection only while it
	// holds that projection's lease, a PostgreSQL session advisory lock
	// (pg_try_advisory_lock, key derived from the name) on a connection of
	// its own outside Pool: one runner at a time per projection across every
	// process sharing the database. A standby tries again every LeaseRetry
	// (default 1 s) and takes over once the holder stops or dies (its
	// connection closes). A holder whose lease connection fails a check
	// (also every LeaseRetry) stops the projection and competes again.
	Leases     bool
	LeaseRetry time.Duration
	// Opener opens sealed content when the runner reads Store itself (no
	// Log); a shared Log opens it itself (tail.Config.Opener). Nil leaves
	// content as stored.
	Opener Opener
}

func (c *RunnerConfig) setDefaults() {
	if c.Log == nil && c.Store != nil {
		c.Log = storeLog{c.Store, c.Opener}
	}
	if len(c.Projections) == 0 {
		c.Projections = All()
	}
	if c.BatchSize <= 0 {
		c.BatchSize = 500
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.RetryBackoff <= 0 {
		c.RetryBackoff = 100 * time.Millisecond
	}
	if c.MaxRetryBackoff <= 0 {
		c.MaxRetryBackoff = 30 * time.Second
	}
	c.MaxRetryBackoff = max(c.MaxRetryBackoff, c.RetryBackoff)
	if c.LeaseRetry <= 0 {
		c.LeaseRetry = time.Second
	}
}

// Validate reports a configuration the runner cannot work with.
func (c *RunnerConfig) Validate() error {
	if c.Store == nil {
		return errors.New("runner config: no event store")
	}
	if c.Pool == nil {
		return errors.New("runner config: no database pool")
	}
	seen := map[string]bool{}
	for _, p := range c.Projections {
		if p == nil {
			return errors.New("runner config: nil projection")
		}
		if seen[p.Name()] {
			return fmt.Errorf("runner config: two projections named %q", p.Name())
		}
		seen[p.Name()] = true
	}
	return nil
}

// Runner keeps the read models up to date: it runs every projection in its own
// goroutine, each subscribed to the global log from its checkpoint.
//
// Guarantees:
//   - Exactly-once read models over at-least-once delivery: each batch is
//     applied in one transaction that locks the projection's checkpoint row,
//     skips events at or below it, applies the rest and advances it. Any
//     number of runners, in this process or others, may follow the same
//     database; their batches serialise on the checkpoint row and every event
//     takes effect once.
//   - A projection never skips an event: one it cannot decode or apply stops
//     it just below that event (the events before it in the batch are
//     committed). The failure is logged and retried with backoff, after
//     resubscribing from the stored checkpoint, until it succeeds or ctx ends.
//     Other projections are not held up.
//   - Events are applied in global log order; within a session, that is
//     stream (and seq) order.
//   - With RunnerConfig.Leases, one runner at a time runs each projection;
//     the others stand by (see ProjectionStatus.Leader).
type Runner struct {
	cfg     RunnerConfig
	workers []*worker
	running atomic.Bool
}

// ProjectionStatus is where one projection of a runner stands.
type ProjectionStatus struct {
	Name string `json:"name"`
	// Position is the projection's stored checkpoint as the runner last saw
	// it (0 before Run has read it).
	Position events.Position `json:"position"`
	// LastError is the latest failure, kept after recovery for diagnosis
	// ("" when there was none).
	LastError string `json:"lastError,omitempty"`
	// Failing is true from a failure until the next batch commits or, when
	// the failure concerned no event (the database was unreachable), until
	// the projection has read its checkpoint again.
	Failing bool `json:"failing"`
	// Leader is true while this runner runs the projection: always once Run
	// started without RunnerConfig.Leases, only while it holds the lease
	// with them. A standby's Position is the stored checkpoint, read at each
	// try for the lease.
	Leader bool `json:"leader"`
}

// NewRunner returns a runner for cfg with defaults filled in.
func NewRunner(cfg RunnerConfig) (*Runner, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	r := &Runner{cfg: cfg}
	for _, p := range cfg.Projections {
		r.workers = append(r.workers, &worker{cfg: &r.cfg, p: p, status: ProjectionStatus{Name: p.Name()}})
	}
	return r, nil
}

// Run runs every projection until ctx ends, then waits for them all to stop
// and returns nil. Failures are retried, never returned. A runner runs once at
// a time: a second concurrent Run returns an error at once.
func (r *Runner) Run(ctx context.Context) error {
	if !r.running.CompareAndSwap(false, true) {
		return errors.New("projection runner already running")
	}
	defer r.running.Store(false)
	var wg sync.WaitGroup
	for _, w := range r.workers {
		wg.Go(func() { w.run(ctx) })
	}
	wg.Wait()
	return nil
}

// Status returns each projection's status, in the order of
// RunnerConfig.Projections. It is safe to call at any time from any goroutine.
func (r *Runner) Status() []ProjectionStatus {
	out := make([]ProjectionStatus, len(r.workers))
	for i, w := range r.workers {
		w.mu.Lock()
		out[i] = w.status
		w.mu.Unlock()
	}
	return out
}
