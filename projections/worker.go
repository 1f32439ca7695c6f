package projections

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tellyou/tellyou/events"
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
// holds the lease.
func (w *worker) run(ctx context.Context) {
	if !w.cfg.Leases {
		w.setLeader(true)
		defer w.setLeader(false)
		w.project(ctx)
		return
	}
	for ctx.Err() == nil {
		l := w.acquire(ctx)
		if l == nil {
			return
		}
		w.cfg.Logger.Info("projection lease taken", "projection", w.p.Name())
		w.setLeader(true)
		leaseCtx, cancel := context.WithCancel(ctx)
		var wg sync.WaitGroup
		wg.Go(func() {
			l.keep(leaseCtx, w.cfg.LeaseRetry, func(err error) {
				w.cfg.Logger.Warn("projection lease lost", "projection", w.p.Name(), "error", err)
				cancel()
			})
		})
		w.project(leaseCtx)
		cancel()
		wg.Wait()
		l.release()
		w.setLeader(false)
	}
}

// acquire waits until it holds the projection's lease, trying every
// LeaseRetry and meanwhile keeping Position at the stored checkpoint; nil
// when ctx ended first.
func (w *worker) acquire(ctx context.Context) *lease {
	var conn *pgx.Conn
	defer func() {
		if conn != nil {
			_ = conn.Close(context.Background())
		}
	}()
	for {
		var err error
		if conn == nil {
			conn, err = pgx.ConnectConfig(ctx, w.cfg.Pool.Config().ConnConfig.Copy())
			if err != nil {
				conn = nil
			}
		}
		if err == nil {
			var held bool
			if held, err = tryLease(ctx, conn, w.p.Name()); err == nil && held {
				l := &lease{conn: conn}
				conn = nil
				return l
			}
		}
		if err != nil && ctx.Err() == nil {
			w.cfg.Logger.Warn("projection lease unavailable", "projection", w.p.Name(), "error", err)
			if conn != nil {
				_ = conn.Close(context.Background())
				conn = nil
			}
		}
		if pos, err := readCheckpoint(ctx, w.cfg.Pool, w.p.Name()); err == nil {
			w.setPosition(pos)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(w.cfg.LeaseRetry):
		}
	}
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
	err = w.cfg.Store.Subscribe(ctx, pos, w.cfg.BatchSize, w.handle)
	if err == nil {
		err = errors.New("subscription ended")
	}
	return err
}

func (w *worker) handle(ctx context.Context, batch []events.RecordedEvent) error {
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
