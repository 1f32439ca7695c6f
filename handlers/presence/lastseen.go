package presence

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// retryPause is how long the writer waits after a failed write.
const retryPause = time.Second

// lastSeenWriter stores last-seen times in the background, gathering what
// comes while a write is under way into the next one. A failed write is
// tried again; the times wait in memory meanwhile.
type lastSeenWriter struct {
	store  *Store
	logger *slog.Logger
	wake   chan struct{}

	mu      sync.Mutex
	pending map[string]int64
}

func newLastSeenWriter(store *Store, logger *slog.Logger) *lastSeenWriter {
	return &lastSeenWriter{store: store, logger: logger, wake: make(chan struct{}, 1), pending: map[string]int64{}}
}

// add queues times to store; it never waits for the database.
func (w *lastSeenWriter) add(times map[string]int64) {
	if len(times) == 0 {
		return
	}
	w.mu.Lock()
	for u, at := range times {
		w.pending[u] = max(w.pending[u], at)
	}
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// run writes what is queued until ctx ends.
func (w *lastSeenWriter) run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-w.wake:
		}
		wctx, cancel := context.WithTimeout(ctx, queryTimeout)
		ok := w.flush(wctx)
		cancel()
		if !ok {
			select {
			case <-ctx.Done():
				return
			case <-time.After(retryPause):
			}
			select {
			case w.wake <- struct{}{}:
			default:
			}
		}
	}
}

// flush writes what is queued; false when the write failed (the times are
// queued again).
func (w *lastSeenWriter) flush(ctx context.Context) bool {
	w.mu.Lock()
	batch := w.pending
	w.pending = map[string]int64{}
	w.mu.Unlock()
	if len(batch) == 0 {
		return true
	}
	if err := w.store.SaveLastSeen(ctx, batch); err != nil {
		w.logger.Warn("presence: storing last-seen times failed; trying again", "users", len(batch), "err", err)
		w.mu.Lock()
		for u, at := range batch {
			w.pending[u] = max(w.pending[u], at)
		}
		w.mu.Unlock()
		return false
	}
	return true
}
