package projections

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tellyou/tellyou/events"
	"github.com/tellyou/tellyou/events/tail"
	"github.com/tellyou/tellyou/projections/lease"
)

// worker runs one projection of a Runner.
type worker struct {
	cfg *RunnerConfig
	p   Projection

	// known is the checkpoint as last read or written by this worker.
	known atomic.Int64
	// progressed is set when a batch commits, so the next failure starts the
	// backoff again.
	progressed atomic.Bool

	mu     sync.Mutex
	status ProjectionStatus
	// failedOnEvent tells whether the last failure concerned an event (an
	// *EventError) rather than the database.
	failedOnEvent bool
}

// run runs the projection until ctx ends: at once, or with leases while it
// holds the lease (see projections/lease).
func (w *worker) run(ctx context.Context) {
	if !w.cfg.Leases {
		w.setLeader(true)
		defer w.setLeader(false)
		w.project(ctx)
		return
	}
	lease.Hold(ctx, lease.Config{
		Pool: w.cfg.Pool, Key: "tellyou.projection.lease:" + w.p.Name(), Retry: w.cfg.LeaseRetry,
		Taken: func() {
			w.cfg.Logger.Info("projection lease taken", "projection", w.p.Name())
			w.setLeader(true)
		},
		Lost: func(err error) {
			w.cfg.Logger.Warn("projection lease lost", "projection", w.p.Name(), "error", err)
		},
		Released: func() { w.setLeader(false) },
		Unavailable: func(err error) {
			w.cfg.Logger.Warn("projection lease unavailable", "projection", w.p.Name(), "error", err)
		},
		// A standby keeps Position at the stored checkpoint.
		Waiting: func(ctx context.Context) {
			if pos, err := readCheckpoint(ctx, w.cfg.Pool, w.p.Name()); err == nil {
				w.standingBy(pos)
			}
		},
	}, w.project)
}

func (w *worker) setLeader(leader bool) {
	w.mu.Lock()
	w.status.Leader = leader
	w.mu.Unlock()
}

// project runs the projection until ctx ends, retrying failures with backoff.
func (w *worker) project(ctx context.Context) {
	backoff := w.cfg.RetryBackoff
	for ctx.Err() == nil {
		err := w.follow(ctx)
		if ctx.Err() != nil {
			return
		}
		if errors.Is(err, errRewound) {
			w.cfg.Logger.Warn("projection checkpoint moved back; resubscribing",
				"projection", w.p.Name(), "error", err)
			continue
		}
		if w.progressed.Swap(false) {
			backoff = w.cfg.RetryBackoff
		}
		w.fail(err, backoff)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, w.cfg.MaxRetryBackoff)
	}
}

// follow subscribes from the stored checkpoint and applies batches until the
// subscription fails or ctx ends.
func (w *worker) follow(ctx context.Context) error {
	pos, err := readCheckpoint(ctx, w.cfg.Pool, w.p.Name())
	if err != nil {
		return err
	}
	w.known.Store(int64(pos))
	w.mu.Lock()
	w.status.Position = pos
	if !w.failedOnEvent {
		// The database answers again: a failure that concerned no event is
		// over, whether or not events follow to prove it.
		w.status.Failing = false
	}
	w.mu.Unlock()
	err = w.cfg.Log.Follow(ctx, pos, w.cfg.BatchSize, w.handle)
	if err == nil {
		err = errors.New("subscription ended")
	}
	return err
}

func (w *worker) handle(ctx context.Context, batch []*tail.Event) error {
	if len(batch) == 0 {
		return nil
	}
	known := events.Position(w.known.Load())
	pos, err := commitBatch(ctx, w.cfg.Pool, w.p, batch, known)
	if errors.Is(err, errRewound) {
		return err
	}
	if pos > known {
		w.known.Store(int64(pos))
		w.setPosition(pos)
		w.progressed.Store(true)
	}
	if err != nil {
		return err
	}
	w.mu.Lock()
	w.status.Failing = false
	w.failedOnEvent = false
	w.mu.Unlock()
	return nil
}

// standingBy records the stored checkpoint a standby read. The database
// answered, so a failure that concerned no event is over, as in follow:
// else a runner that failed while it led, then lost the lease to another,
// would report the failure for as long as the other leads, and its node
// would stay unready.
func (w *worker) standingBy(pos events.Position) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.status.Position = pos
	if !w.failedOnEvent {
		w.status.Failing = false
	}
}

func (w *worker) setPosition(pos events.Position) {
	w.mu.Lock()
	w.status.Position = pos
	w.mu.Unlock()
}

// fail records and logs a failure with the event it concerns, if any.
func (w *worker) fail(err error, retryIn time.Duration) {
	attrs := []any{slog.String("projection", w.p.Name()),
		slog.Int64("checkpoint", w.known.Load()), slog.Duration("retry_in", retryIn)}
	var ee *EventError
	if errors.As(err, &ee) {
		attrs = append(attrs, slog.Int64("position", int64(ee.Position)), slog.String("stream", ee.StreamID),
			slog.Int64("version", ee.Version), slog.String("type", ee.Type))
	}
	attrs = append(attrs, slog.Any("error", err))
	w.cfg.Logger.Error("projection failed", attrs...)
	w.mu.Lock()
	w.status.Failing = true
	w.status.LastError = err.Error()
	w.failedOnEvent = ee != nil
	w.mu.Unlock()
	if w.cfg.OnFailure != nil {
		w.cfg.OnFailure(w.p.Name(), err)
	}
}
