package storetest

import (
	"errors"
	"slices"
	"testing"

	"github.com/tellyou/tellyou/events"
)

// testRetriedAppendIsDuplicate retries the last append to a stream with every
// kind of expected version: each is a Duplicate with the original result, and
// nothing new is stored.
func testRetriedAppendIsDuplicate(t *testing.T, s events.Store) {
	st := newStreams()
	stream := st.name("retried")
	evs := newEvents(3, "retried")
	original := mustAppend(t, s, stream, events.NoStream, evs)

	for _, expected := range []events.ExpectedVersion{events.NoStream, 3, events.AnyVersion, 1, 7} {
		res, err := s.Append(t.Context(), stream, expected, evs)
		if err != nil {
			t.Fatalf("retry with expected version %d: %v, want a Duplicate result", expected, err)
		}
		want := original
		want.Duplicate = true
		if res != want {
			t.Errorf("retry with expected version %d: %+v, want %+v", expected, res, want)
		}
	}
	// A single-event append is retried the same way.
	single := newEvent("single")
	one := mustAppend(t, s, stream, 3, []events.EventData{single})
	res, err := s.Append(t.Context(), stream, 3, []events.EventData{single})
	if err != nil || !res.Duplicate || res.FirstVersion != 4 || res.LastVersion != 4 || res.Position != one.Position {
		t.Errorf("retry of a single event: %+v, %v; want Duplicate at version 4, position %d", res, err, one.Position)
	}

	assertStoredOnce(t, s, st, stream, append(evs, single))
}

// testRetryOfEarlierAppendIsDuplicate retries an append that later appends
// have followed, with the version it had expected, now stale.
func testRetryOfEarlierAppendIsDuplicate(t *testing.T, s events.Store) {
	st := newStreams()
	stream := st.name("earlier")
	first, middle, last := newEvents(1, "first"), newEvents(2, "middle"), newEvents(1, "last")
	mustAppend(t, s, stream, events.NoStream, first)
	original := mustAppend(t, s, stream, 1, middle)
	mustAppend(t, s, stream, 3, last)

	res, err := s.Append(t.Context(), stream, 1, middle)
	if err != nil {
		t.Fatalf("retry of the middle append: %v, want a Duplicate result", err)
	}
	if !res.Duplicate || res.FirstVersion != 2 || res.LastVersion != 3 || res.Position != original.Position {
		t.Errorf("retry of the middle append: %+v, want Duplicate at versions 2..3, position %d", res, original.Position)
	}
	assertStoredOnce(t, s, st, stream, slices.Concat(first, middle, last))
}

func testEventIDInAnotherStream(t *testing.T, s events.Store) {
	st := newStreams()
	evs := newEvents(2, "owned")
	mustAppend(t, s, st.name("owner"), events.NoStream, evs)

	for _, expected := range []events.ExpectedVersion{events.NoStream, events.AnyVersion} {
		_, err := s.Append(t.Context(), st.name("thief"), expected, evs)
		if !errors.Is(err, events.ErrDuplicateEventID) {
			t.Errorf("append of another stream's event ids with expected version %d: %v, want an error matching ErrDuplicateEventID", expected, err)
		}
	}
	mixed := []events.EventData{newEvent("new"), evs[1]}
	if _, err := s.Append(t.Context(), st.name("thief"), events.AnyVersion, mixed); !errors.Is(err, events.ErrDuplicateEventID) {
		t.Errorf("append of a new event with another stream's event: %v, want an error matching ErrDuplicateEventID", err)
	}
	if got := mustReadStream(t, s, st.name("thief"), 1, 0); len(got) != 0 {
		t.Fatalf("refused appends stored %d events", len(got))
	}
	assertStoredOnce(t, s, st, st.name("owner"), evs)
}

// assertStoredOnce fails unless stream holds exactly evs, and the global log
// holds them once, up to a sentinel appended to the stream now.
func assertStoredOnce(t *testing.T, s events.Store, st streams, stream string, evs []events.EventData) {
	t.Helper()
	got := mustReadStream(t, s, stream, 1, 0)
	if !slices.Equal(eventIDs(got), eventIDs(evs)) {
		t.Fatalf("stream %s holds %v, want %v", stream, eventIDs(got), eventIDs(evs))
	}
	sentinel := newEvent("sentinel")
	mustAppend(t, s, stream, events.ExpectedVersion(len(evs)), []events.EventData{sentinel})
	all := readAllOurs(t, s, st, 0, len(evs)+1)
	want := append(eventIDs(evs), sentinel.EventID)
	if !slices.Equal(eventIDs(all), want) {
		t.Fatalf("global log holds %v, want %v", eventIDs(all), want)
	}
}
