package events

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
)

// Position is an event's place in the global log (all streams). Positions grow
// strictly in the order readers of the global log see events, but they need not
// be contiguous: a store may leave holes. Zero is before the first event.
type Position int64

// ExpectedVersion is the stream version an append requires: the version of the
// stream's last event (1 after one event), NoStream (0) for a stream that must not
// exist yet, or AnyVersion to skip the check.
type ExpectedVersion int64

const (
	// NoStream requires that the stream has no events yet.
	NoStream ExpectedVersion = 0
	// AnyVersion appends whatever the stream's version is.
	AnyVersion ExpectedVersion = -1
)

// MaxAppendEvents bounds the events of one Append call.
const MaxAppendEvents = 10000

// EventData is one event ready to append: encoded by Encode, opaque to the store
// except for its EventID, which makes appends idempotent.
type EventData struct {
	EventID  uuid.UUID
	Type     string
	Data     []byte // JSON object
	Metadata []byte // JSON object
}

// RecordedEvent is an event as the log holds it.
type RecordedEvent struct {
	StreamID   string
	Version    int64 // 1 for the stream's first event, then +1 per event
	Position   Position
	EventID    uuid.UUID
	Type       string
	Data       []byte // JSON object, byte for byte as appended
	Metadata   []byte // JSON object, byte for byte as appended
	RecordedAt time.Time
}

// AppendResult tells where the appended events landed.
type AppendResult struct {
	// FirstVersion and LastVersion are the stream versions of the first and last
	// appended event.
	FirstVersion int64
	LastVersion  int64
	// Position is the global position of the last appended event.
	Position Position
	// Duplicate is true when every event id was already in the stream from an
	// earlier append of the same events: nothing was written and the versions
	// are those of that earlier append.
	Duplicate bool
}

// Store is the event log. Implementations are safe for concurrent use.
//
// Guarantees every implementation gives (checked by events/storetest):
//   - Append is atomic: all events of one call are stored, or none.
//   - Append checks the expected version; on mismatch it returns an error that
//     matches ErrWrongExpectedVersion and stores nothing.
//   - Append is idempotent on event ids: appending events whose ids are already in
//     the stream (all of them, from one earlier append) stores nothing and reports
//     Duplicate with the original versions, whatever the expected version.
//     Reusing an id in another stream is an error matching ErrDuplicateEventID.
//   - Once Append returns, the events are durable.
//   - The global log never shows an event at a position lower than one a reader
//     has already been shown: a reader that resumes after position P never misses
//     an event, however writers' transactions interleave.
//   - Within a stream, global order equals version order.
type Store interface {
	// Append adds events to the end of a stream.
	Append(ctx context.Context, streamID string, expected ExpectedVersion, events []EventData) (AppendResult, error)
	// ReadStream returns up to limit events of a stream with version >=
	// fromVersion, in version order. A stream with no events gives an empty
	// slice, not an error.
	ReadStream(ctx context.Context, streamID string, fromVersion int64, limit int) ([]RecordedEvent, error)
	// ReadAll returns up to limit events of the global log after position after,
	// in global order. It returns only events whose place in global order is
	// final, so a caller may resume from the last position it got.
	ReadAll(ctx context.Context, after Position, limit int) ([]RecordedEvent, error)
	// Subscribe delivers the global log after position after to handle, in
	// global order and in batches of at most batchSize events: first what is
	// already stored (catch-up), then new events as they are appended (live).
	// It blocks until ctx ends (returning ctx's error) or handle returns an
	// error (returning it wrapped). handle is never called concurrently.
	Subscribe(ctx context.Context, after Position, batchSize int, handle func(ctx context.Context, batch []RecordedEvent) error) error
	// Head returns the position of the last event in the global log whose
	// place is final (0 for an empty log).
	Head(ctx context.Context) (Position, error)
}

// ErrWrongExpectedVersion is matched (errors.Is) by the error an append returns
// when the stream's version is not the expected one.
var ErrWrongExpectedVersion = errors.New("wrong expected version")

// ErrDuplicateEventID is matched by the error an append returns when an event id
// is already stored in another stream or at a place that does not make the append
// a plain retry.
var ErrDuplicateEventID = errors.New("event id already used")

// VersionConflictError is the error of an append whose expected version did not
// match.
type VersionConflictError struct {
	StreamID string
	Expected ExpectedVersion
	Actual   int64
}

func (e *VersionConflictError) Error() string {
	return fmt.Sprintf("stream %s: expected version %d, actual %d", e.StreamID, e.Expected, e.Actual)
}

// Is makes errors.Is(err, ErrWrongExpectedVersion) true.
func (e *VersionConflictError) Is(target error) bool { return target == ErrWrongExpectedVersion }

var _ error = (*VersionConflictError)(nil)
