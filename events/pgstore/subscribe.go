package pgstore

import (
	"context"
	"fmt"
	"time"

	"github.com/tellyou/tellyou/events"
)

// Subscribe delivers the global log after position after to handle, in
// batches of at most batchSize events (batchSize <= 0 means 1000); see
// events.Store. It reads with ReadAll until it is caught up, then waits for a
// wake-up: an append by this store (at once), an append by another store on
// the database (through LISTEN/NOTIFY), or PollInterval.
//
// It returns ctx.Err() when ctx ends and handle's error, wrapped, when handle
// fails. Database errors do not end it: it logs them and tries again after
// PollInterval.
func (s *Store) Subscribe(ctx context.Context, after events.Position, batchSize int, handle func(ctx context.Context, batch []events.RecordedEvent) error) error {
	if batchSize <= 0 {
		batchSize = defaultReadLimit
	}
	timer := time.NewTimer(s.cfg.PollInterval)
	defer timer.Stop()
	for {
		wake := s.wakeups.Wait()
		batch, err := s.ReadAll(ctx, after, batchSize)
		if err == nil && len(batch) > 0 {
			if err := handle(ctx, batch); err != nil {
				return fmt.Errorf("subscription after position %d: handle events %d to %d: %w",
					after, batch[0].Position, batch[len(batch)-1].Position, err)
			}
			after = batch[len(batch)-1].Position
			continue
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err != nil {
			s.log.Warn("event store: subscription read failed, retrying", "after", after, "err", err)
		}
		timer.Reset(s.cfg.PollInterval) // since Go 1.23, Reset also drops an unreceived fire
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-wake:
		case <-timer.C:
		}
	}
}
