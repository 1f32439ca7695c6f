package esdbstore

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"

	"github.com/tellyou/tellyou/events"
)

// handlerError carries handle's failure out of one subscription, to end
// Subscribe instead of subscribing again.
type handlerError struct{ err error }

func (e *handlerError) Error() string { return e.err.Error() }
func (e *handlerError) Unwrap() error { return e.err }

// Subscribe delivers the global log after position after to handle, in
// batches of at most batchSize events (batchSize <= 0 means 1000); see
// events.Store. It is a filtered catch-up subscription to $all (the server
// applies Config.StreamFilter): a batch holds what has arrived and is ready,
// so catch-up gives full batches and live delivery often single events.
//
// The client does not resubscribe: when the server drops the subscription
// (a restart, a lost connection), Subscribe logs it and subscribes again
// after Config.ResubscribeDelay from the last position delivered, skipping
// what the server sends again. It returns ctx.Err() when ctx ends and handle's
// error, wrapped, when handle fails.
func (s *Store) Subscribe(ctx context.Context, after events.Position, batchSize int, handle func(ctx context.Context, batch []events.RecordedEvent) error) error {
	if batchSize <= 0 {
		batchSize = defaultReadLimit
	}
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		var err error
		after, err = s.subscribeOnce(ctx, after, batchSize, handle)
		if herr, ok := errors.AsType[*handlerError](err); ok {
			return herr.err
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		s.log.Warn("event store: subscription dropped, subscribing again", "after", after, "err", err)
		timer.Reset(s.cfg.ResubscribeDelay)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-timer.C:
		}
	}
}

// subscribeOnce runs one subscription until it drops, ctx ends or handle
// fails, and returns the position of the last event delivered.
func (s *Store) subscribeOnce(ctx context.Context, after events.Position, batchSize int, handle func(ctx context.Context, batch []events.RecordedEvent) error) (events.Position, error) {
	sub, err := s.client.SubscribeToAll(ctx, esdb.SubscribeToAllOptions{
		From:   allPositionFrom(after),
		Filter: &esdb.SubscriptionFilter{Type: esdb.StreamFilterType, Regex: s.cfg.StreamFilter},
	})
	if err != nil {
		return after, fmt.Errorf("subscribe to $all after position %d: %w", after, err)
	}

	// Recv blocks: a goroutine receives, so that the loop below can tell an
	// empty queue (deliver the batch now) from a full one.
	received := make(chan *esdb.SubscriptionEvent, batchSize)
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			ev := sub.Recv()
			select {
			case received <- ev:
			case <-done:
				return
			}
			if ev.SubscriptionDropped != nil {
				return
			}
		}
	})
	defer func() {
		close(done)
		_ = sub.Close() // always nil; makes Recv return
		wg.Wait()
	}()

	batch := make([]events.RecordedEvent, 0, batchSize)
	last := after // the last event queued
	deliver := func() error {
		if len(batch) == 0 {
			return nil
		}
		if err := handle(ctx, batch); err != nil {
			return &handlerError{fmt.Errorf("subscription after position %d: handle events %d to %d: %w",
				after, batch[0].Position, batch[len(batch)-1].Position, err)}
		}
		after = batch[len(batch)-1].Position
		batch = batch[:0]
		return nil
	}
	for {
		var ev *esdb.SubscriptionEvent
		if len(batch) == 0 {
			select {
			case ev = <-received:
			case <-ctx.Done():
				return after, ctx.Err()
			}
		} else {
			select {
			case ev = <-received:
			default:
				if err := deliver(); err != nil {
					return after, err
				}
				continue
			}
		}
		switch {
		case ev.EventAppeared != nil:
			e := ev.EventAppeared.Event
			if e == nil || !s.ours.MatchString(e.StreamID) {
				continue
			}
			rec, err := toRecorded(e)
			if err != nil {
				return after, fmt.Errorf("subscription after position %d: %w", after, err)
			}
			if rec.Position <= last {
				continue // the event at after itself, or one sent again
			}
			last = rec.Position
			if batch = append(batch, rec); len(batch) == batchSize {
				if err := deliver(); err != nil {
					return after, err
				}
			}
		case ev.SubscriptionDropped != nil:
			if err := deliver(); err != nil {
				return after, err
			}
			return after, fmt.Errorf("subscription after position %d dropped: %w", after, ev.SubscriptionDropped.Error)
		}
		// CheckPointReached, CaughtUp, FellBehind: nothing to deliver.
	}
}
