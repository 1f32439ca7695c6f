package metrics

import (
	"context"
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tellyou/tellyou/events"
)

// Store operations, the values of the operation label of the event-store
// metrics.
const (
	OpAppend     = "append"
	OpReadStream = "read_stream"
	OpReadAll    = "read_all"
	OpHead       = "head"
)

// Reasons of failed store operations, the values of the reason label of
// tellyou_event_store_errors_total.
const (
	// ReasonConflict is an append refused for a wrong expected version. The
	// command handlers expect these under concurrency and retry.
	ReasonConflict = "conflict"
	// ReasonDuplicateEventID is an append whose event id is already used
	// elsewhere in the log.
	ReasonDuplicateEventID = "duplicate_event_id"
	// ReasonCanceled is an operation whose caller gave up (its context was
	// canceled), usually a client that went away.
	ReasonCanceled = "canceled"
	// ReasonError is every other failure: storage unreachable, timeouts,
	// refused input.
	ReasonError = "error"
)

// InstrumentedStore is an events.Store that measures the store it wraps:
// the duration of every Append (tellyou_event_store_append_seconds), of
// ReadStream, ReadAll and Head (tellyou_event_store_read_seconds by
// operation), the failures of each by reason
// (tellyou_event_store_errors_total) and the events written
// (tellyou_event_store_appended_events_total, duplicates excluded).
// Subscribe is passed through unmeasured: it runs for as long as its caller
// follows the log. Results and errors are those of the wrapped store,
// unchanged; it is safe for concurrent use as the wrapped store is.
type InstrumentedStore struct {
	store events.Store
	m     *Metrics
}

var _ events.Store = (*InstrumentedStore)(nil)

// NewInstrumentedStore wraps store so that its operations are measured on m.
func NewInstrumentedStore(store events.Store, m *Metrics) (*InstrumentedStore, error) {
	switch {
	case store == nil:
		return nil, errors.New("instrument event store: nil store")
	case m == nil:
		return nil, errors.New("instrument event store: nil metrics")
	}
	return &InstrumentedStore{store: store, m: m}, nil
}

// Append appends through the wrapped store and records its duration, its
// failure or the number of events it wrote.
func (s *InstrumentedStore) Append(ctx context.Context, streamID string, expected events.ExpectedVersion, evs []events.EventData) (events.AppendResult, error) {
	start := time.Now()
	res, err := s.store.Append(ctx, streamID, expected, evs)
	s.m.EventStoreAppend.Observe(time.Since(start).Seconds())
	switch {
	case err != nil:
		s.m.EventStoreErrors.WithLabelValues(OpAppend, failureReason(ctx, err)).Inc()
	case !res.Duplicate:
		s.m.EventsAppended.Add(float64(len(evs)))
	}
	return res, err
}

// ReadStream reads through the wrapped store and records its duration.
func (s *InstrumentedStore) ReadStream(ctx context.Context, streamID string, fromVersion int64, limit int) ([]events.RecordedEvent, error) {
	defer s.timeRead(OpReadStream, time.Now())
	recs, err := s.store.ReadStream(ctx, streamID, fromVersion, limit)
	s.countFailure(ctx, OpReadStream, err)
	return recs, err
}

// ReadAll reads through the wrapped store and records its duration.
func (s *InstrumentedStore) ReadAll(ctx context.Context, after events.Position, limit int) ([]events.RecordedEvent, error) {
	defer s.timeRead(OpReadAll, time.Now())
	recs, err := s.store.ReadAll(ctx, after, limit)
	s.countFailure(ctx, OpReadAll, err)
	return recs, err
}

// Head asks the wrapped store and records its duration.
func (s *InstrumentedStore) Head(ctx context.Context) (events.Position, error) {
	defer s.timeRead(OpHead, time.Now())
	pos, err := s.store.Head(ctx)
	s.countFailure(ctx, OpHead, err)
	return pos, err
}

// Subscribe is the wrapped store's, unmeasured.
func (s *InstrumentedStore) Subscribe(ctx context.Context, after events.Position, batchSize int, handle func(ctx context.Context, batch []events.RecordedEvent) error) error {
	return s.store.Subscribe(ctx, after, batchSize, handle)
}

func (s *InstrumentedStore) timeRead(op string, start time.Time) {
	s.m.EventStoreRead.WithLabelValues(op).Observe(time.Since(start).Seconds())
}

func (s *InstrumentedStore) countFailure(ctx context.Context, op string, err error) {
	if err != nil {
		s.m.EventStoreErrors.WithLabelValues(op, failureReason(ctx, err)).Inc()
	}
}

// failureReason classifies a store error for the reason label.
func failureReason(ctx context.Context, err error) string {
	switch {
	case errors.Is(err, events.ErrWrongExpectedVersion):
		return ReasonConflict
	case errors.Is(err, events.ErrDuplicateEventID):
		return ReasonDuplicateEventID
	case errors.Is(ctx.Err(), context.Canceled):
		return ReasonCanceled
	default:
		return ReasonError
	}
}

// newEventStoreMetrics creates the event-store instruments, with every
// operation and reason present at zero from the start so that rate() and
// increase() see the first failure.
func newEventStoreMetrics() (appendSeconds prometheus.Histogram, readSeconds *prometheus.HistogramVec, failures *prometheus.CounterVec, appended prometheus.Counter) {
	appendSeconds = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "tellyou_event_store_append_seconds", Help: "Duration of event-store appends, successful or not.",
		Buckets: latencyBuckets,
	})
	readSeconds = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "tellyou_event_store_read_seconds", Help: "Duration of event-store reads, by operation (read_stream, read_all, head).",
		Buckets: latencyBuckets,
	}, []string{"operation"})
	failures = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "tellyou_event_store_errors_total", Help: "Failed event-store operations, by operation and reason (conflict, duplicate_event_id, canceled, error).",
	}, []string{"operation", "reason"})
	appended = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "tellyou_event_store_appended_events_total", Help: "Events written to the event store (retried duplicates excluded).",
	})
	for _, reason := range []string{ReasonConflict, ReasonDuplicateEventID, ReasonCanceled, ReasonError} {
		failures.WithLabelValues(OpAppend, reason)
	}
	for _, op := range []string{OpReadStream, OpReadAll, OpHead} {
		readSeconds.WithLabelValues(op)
		failures.WithLabelValues(op, ReasonCanceled)
		failures.WithLabelValues(op, ReasonError)
	}
	return appendSeconds, readSeconds, failures, appended
}
