package storetest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/tellyou/tellyou/events"
)

// eventually bounds every wait of the suite. It is no promptness assertion:
// it only turns a hang into a failure.
const eventually = time.Minute

// testEventType is the type of every event the suite appends.
const testEventType = "StoreTestEvent"

// testContext ends when the test ends or after d.
func testContext(t *testing.T, d time.Duration) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), d)
	t.Cleanup(cancel)
	return ctx
}

// streams names a subtest's streams, all with one random prefix, and tells
// them from other streams in the global log.
type streams struct{ prefix string }

func newStreams() streams {
	return streams{prefix: StreamPrefix + uuid.NewString()[:8] + "-"}
}

func (s streams) name(n string) string { return s.prefix + n }

func (s streams) ours(streamID string) bool { return strings.HasPrefix(streamID, s.prefix) }

// newEvent returns an event with a fresh id whose data is a JSON object with
// the given label.
func newEvent(label string) events.EventData {
	id := uuid.New()
	return events.EventData{
		EventID:  id,
		Type:     testEventType,
		Data:     fmt.Appendf(nil, `{"label":%q}`, label),
		Metadata: fmt.Appendf(nil, `{"eventId":%q}`, id),
	}
}

func newEvents(n int, label string) []events.EventData {
	evs := make([]events.EventData, n)
	for i := range evs {
		evs[i] = newEvent(fmt.Sprintf("%s-%d", label, i))
	}
	return evs
}

func mustAppend(t *testing.T, s events.Store, stream string, expected events.ExpectedVersion, evs []events.EventData) events.AppendResult {
	t.Helper()
	res, err := s.Append(t.Context(), stream, expected, evs)
	if err != nil {
		t.Fatalf("append %d events to %s at expected version %d: %v", len(evs), stream, expected, err)
	}
	if res.Duplicate {
		t.Fatalf("append of new events to %s reported Duplicate: %+v", stream, res)
	}
	return res
}

func mustReadStream(t *testing.T, s events.Store, stream string, from int64, limit int) []events.RecordedEvent {
	t.Helper()
	evs, err := s.ReadStream(t.Context(), stream, from, limit)
	if err != nil {
		t.Fatalf("read stream %s from %d: %v", stream, from, err)
	}
	return evs
}

// readAllOurs reads the whole global log after position after and returns the
// events of the subtest's streams. It reads again until it has at least want of
// them: a store may show committed events in the global log a little later.
func readAllOurs(t *testing.T, s events.Store, st streams, after events.Position, want int) []events.RecordedEvent {
	t.Helper()
	deadline := time.Now().Add(eventually)
	for {
		var ours []events.RecordedEvent
		pos := after
		for {
			batch, err := s.ReadAll(t.Context(), pos, 100)
			if err != nil {
				t.Fatalf("read all after %d: %v", pos, err)
			}
			if len(batch) == 0 {
				break
			}
			for _, e := range batch {
				if e.Position <= pos {
					t.Fatalf("read all after %d returned position %d, not increasing", pos, e.Position)
				}
				pos = e.Position
				if st.ours(e.StreamID) {
					ours = append(ours, e)
				}
			}
		}
		if len(ours) >= want {
			return ours
		}
		if time.Now().After(deadline) {
			t.Fatalf("global log after %d shows %d events of this test, want %d after %s", after, len(ours), want, eventually)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// assertSameEvent fails unless got is the recorded form of want.
func assertSameEvent(t *testing.T, got events.RecordedEvent, want events.EventData) {
	t.Helper()
	if got.EventID != want.EventID {
		t.Errorf("%s@%d: event id %s, want %s", got.StreamID, got.Version, got.EventID, want.EventID)
	}
	if got.Type != want.Type {
		t.Errorf("%s@%d: type %q, want %q", got.StreamID, got.Version, got.Type, want.Type)
	}
	if string(got.Data) != string(want.Data) {
		t.Errorf("%s@%d: data %q, want %q byte for byte", got.StreamID, got.Version, got.Data, want.Data)
	}
	if string(got.Metadata) != string(want.Metadata) {
		t.Errorf("%s@%d: metadata %q, want %q byte for byte", got.StreamID, got.Version, got.Metadata, want.Metadata)
	}
}

// assertConflict fails unless err reports a wrong expected version; when the
// store gives an *events.VersionConflictError, its fields must be right.
func assertConflict(t *testing.T, err error, stream string, expected events.ExpectedVersion, actual int64) {
	t.Helper()
	if !errors.Is(err, events.ErrWrongExpectedVersion) {
		t.Fatalf("append to %s at expected version %d: got %v, want an error matching ErrWrongExpectedVersion", stream, expected, err)
	}
	var conflict *events.VersionConflictError
	if errors.As(err, &conflict) {
		if conflict.StreamID != stream || conflict.Expected != expected || conflict.Actual != actual {
			t.Errorf("conflict %+v, want stream %s, expected %d, actual %d", *conflict, stream, expected, actual)
		}
	}
}

// assertGlobalOrder fails unless evs are in strictly increasing position
// order and each stream's events have consecutive versions.
func assertGlobalOrder(t *testing.T, evs []events.RecordedEvent) {
	t.Helper()
	last := map[string]int64{}
	for i, e := range evs {
		if i > 0 && e.Position <= evs[i-1].Position {
			t.Fatalf("event %d at position %d follows position %d", i, e.Position, evs[i-1].Position)
		}
		if prev, ok := last[e.StreamID]; ok && e.Version != prev+1 {
			t.Fatalf("%s@%d follows %s@%d in the global log", e.StreamID, e.Version, e.StreamID, prev)
		}
		last[e.StreamID] = e.Version
	}
}

// eventIDs lists the event ids of evs, for comparisons.
func eventIDs[E events.EventData | events.RecordedEvent](evs []E) []uuid.UUID {
	ids := make([]uuid.UUID, len(evs))
	for i, e := range evs {
		switch e := any(e).(type) {
		case events.EventData:
			ids[i] = e.EventID
		case events.RecordedEvent:
			ids[i] = e.EventID
		}
	}
	return ids
}
