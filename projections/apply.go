package projections

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/tellyou/tellyou/events"
	"github.com/tellyou/tellyou/events/tail"
)

// decodeAll decodes events read from the log directly (not through a tail).
func decodeAll(ctx context.Context, recs []events.RecordedEvent, o Opener) []*tail.Event {
	out := make([]*tail.Event, len(recs))
	for i, r := range recs {
		out[i] = tail.DecodeOpened(ctx, r, o)
	}
	return out
}

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

func newEventError(p Projection, ev events.RecordedEvent, i int, err error) *EventError {
	return &EventError{Projection: p.Name(), Position: ev.Position, StreamID: ev.StreamID,
		Version: ev.Version, Type: ev.Type, Err: err, index: i}
}

// staged is a batch of statements with, for each one, the index of the event
// that queued it (the first event of its run for a coalesced statement).
type staged struct {
	batch     pgx.Batch
	owners    []int
	coalesced []bool
}

func (s *staged) own(first int, coalesced bool) {
	for range s.batch.Len() - len(s.owners) {
		s.owners = append(s.owners, first)
		s.coalesced = append(s.coalesced, coalesced)
	}
}

// stage queues the statements of evs, decoded by the log's tail, stopping at
// the first event that could not be decoded or applied: it then returns that
// event's *EventError, and s holds the statements of the events before it.
// Events of types p does not handle are skipped. With coalesce, a Coalescer
// projection writes runs of events together (see Coalescer).
func stage(s *staged, p Projection, tables TableNames, evs []*tail.Event, coalesce bool) error {
	var run Run
	if c, ok := p.(Coalescer); ok && coalesce {
		run = c.NewRun(tables)
	}
	runStart := -1
	flush := func() {
		if runStart >= 0 {
			run.Flush(&s.batch)
			s.own(runStart, true)
			runStart = -1
		}
	}
	for i, te := range evs {
		if !p.Handles(te.Type) {
			continue
		}
		ev, env, err := te.RecordedEvent, te.Envelope, te.DecodeErr
		if err == nil && run != nil {
			var joined bool
			if joined, err = run.Add(ev, env); err == nil && joined {
				if runStart < 0 {
					runStart = i
				}
				continue
			}
		}
		flush()
		if err == nil {
			n := s.batch.Len()
			err = p.Apply(&s.batch, tables, ev, env)
			if err != nil {
				s.batch.QueuedQueries = s.batch.QueuedQueries[:n]
			}
		}
		if err != nil {
			return newEventError(p, evs[i].RecordedEvent, i, err)
		}
		s.own(i, false)
	}
	flush()
	return nil
}

// errCoalescedStatement marks a failure of a statement written for a run of
// events: which event of the run it belongs to is not known.
var errCoalescedStatement = errors.New("statement of a run of events failed")

// send runs the staged statements in tx, in order, in one round trip. A
// failing statement queued by an event is reported as that event's
// *EventError (wrapping errCoalescedStatement too when the statement was a
// run's); tx is then unusable.
func send(ctx context.Context, tx pgx.Tx, s *staged, p Projection, evs []*tail.Event) error {
	if s.batch.Len() == 0 {
		return nil
	}
	br := tx.SendBatch(ctx, &s.batch)
	for i := range s.batch.Len() {
		if _, err := br.Exec(); err != nil {
			br.Close()
			if i < len(s.owners) {
				if s.coalesced[i] {
					err = fmt.Errorf("%w: %w", errCoalescedStatement, err)
				}
				return newEventError(p, evs[s.owners[i]].RecordedEvent, s.owners[i], err)
			}
			return err
		}
	}
	return br.Close()
}
