package projections

import (
	"context"
	"sync"

	"github.com/jackc/pgx/v5/pgxpool"
)

// writeFunc writes rows of a bulk load on conn.
type writeFunc func(ctx context.Context, conn *pgxpool.Conn) error

// rowWriter runs a bulk load's writes on the rebuild's connection in a
// goroutine of its own, one at a time and in the order queued, so that the
// load folds the next events while PostgreSQL takes the rows of the last
// ones. One write waits at most beside the one running: a load holds at most
// two of its chunks of rows in memory besides the one it fills.
//
// The connection is the writer's from start until wait returns; its owner
// must call wait exactly once, failure or not.
type rowWriter struct {
	work chan writeFunc
	done chan struct{}

	mu  sync.Mutex
	err error // the first failed write's
}

// startRowWriter starts the writer of a load on conn.
func startRowWriter(ctx context.Context, conn *pgxpool.Conn) *rowWriter {
	w := &rowWriter{work: make(chan writeFunc, 1), done: make(chan struct{})}
	go func() {
		defer close(w.done)
		for f := range w.work {
			if w.failed() != nil {
				continue // a later write must not land after a lost one
			}
			if err := f(ctx, conn); err != nil {
				w.mu.Lock()
				w.err = err
				w.mu.Unlock()
			}
		}
	}()
	return w
}

// write queues f, waiting while another write waits. It returns the error of
// an earlier write, if one failed; f is then dropped.
func (w *rowWriter) write(f writeFunc) error {
	if err := w.failed(); err != nil {
		return err
	}
	w.work <- f
	return nil
}

// wait waits for every queued write to end and returns the first failure.
func (w *rowWriter) wait() error {
	close(w.work)
	<-w.done
	return w.failed()
}

func (w *rowWriter) failed() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}
