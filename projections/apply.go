package projections

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/tellyou/tellyou/events"
)

// EventError tells which event a projection could not decode or apply. The
// projection stops before that event and retries it; it never skips it.
type EventError struct {
	// Projection is the name of the projection that stopped.
	Projection string
	// Position, StreamID, Version and Type identify the event.
	Position events.Position
	StreamID string
	Version  int64
	Type     string
	// Err is why it could not be decoded or applied.
	Err error

	// index is the event's place in the slice given to stage.
	index int
}

func (e *EventError) Error() string {
	return fmt.Sprintf("projection %s: apply %s %s@%d at position %d: %v",
		e.Projection, e.Type, e.StreamID, e.Version, e.Position, e.Err)
}

func (e *EventError) Unwrap() error { return e.Err }

var _ error = (*EventError)(nil)

func newEventError(p Projection, evs []events.RecordedEvent, i int, err error) *EventError {
	ev := evs[i]
	return &EventError{Projection: p.Name(), Position: ev.Position, StreamID: ev.StreamID,
		Version: ev.Version, Type: ev.Type, Err: err, index: i}
}

// staged is a batch of statements with, for each one, the index of the event
// that queued it.
type staged struct {
	batch  pgx.Batch
	owners []int
}

// stage queues the statements of evs, stopping at the first event that cannot
// be decoded or applied: it then returns that event's *EventError, and s holds
// the statements of the events before it. Events of types p does not handle
// are not decoded.
func stage(s *staged, p Projection, tables TableNames, evs []events.RecordedEvent) error {
	for i, ev := range evs {
		if !p.Handles(ev.Type) {
			continue
		}
		env, err := events.Decode(ev)
		if err == nil {
			n := s.batch.Len()
			err = p.Apply(&s.batch, tables, ev, env)
			if err != nil {
				s.batch.QueuedQueries = s.batch.QueuedQueries[:n]
			}
		}
		if err != nil {
			return newEventError(p, evs, i, err)
		}
		for range s.batch.Len() - len(s.owners) {
			s.owners = append(s.owners, i)
		}
	}
	return nil
}

// send runs the staged statements in tx, in order, in one round trip. A
// failing statement queued by an event is reported as that event's
// *EventError; tx is then unusable.
func send(ctx context.Context, tx pgx.Tx, s *staged, p Projection, evs []events.RecordedEvent) error {
	if s.batch.Len() == 0 {
		return nil
	}
	br := tx.SendBatch(ctx, &s.batch)
	for i := range s.batch.Len() {
		if _, err := br.Exec(); err != nil {
			br.Close()
			if i < len(s.owners) {
				return newEventError(p, evs, s.owners[i], err)
			}
			return err
		}
	}
	return br.Close()
}
