package storetest

import (
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/tellyou/tellyou/events"
)

func testAppendAndReadBack(t *testing.T, s events.Store) {
	st := newStreams()
	stream := st.name("round-trip")
	// Spacing, key order, escapes and non-ASCII text must all survive.
	evs := []events.EventData{
		{
			EventID:  uuid.New(),
			Type:     testEventType,
			Data:     []byte(`{"z": 1,  "a" : [1, 2.50, 1e3, "caf\u00e9 café"], "n":null}`),
			Metadata: []byte("{\n  \"actor\": \"u1\",\n  \"b\": {\"x\": true}\n}"),
		},
		{EventID: uuid.New(), Type: "Other" + testEventType, Data: []byte(`{}`), Metadata: []byte(` { "k" : "v" } `)},
		newEvent("third"),
	}
	before := time.Now()
	res := mustAppend(t, s, stream, events.NoStream, evs)
	if res.FirstVersion != 1 || res.LastVersion != 3 {
		t.Fatalf("append result versions %d..%d, want 1..3", res.FirstVersion, res.LastVersion)
	}

	got := mustReadStream(t, s, stream, 1, 0)
	if len(got) != len(evs) {
		t.Fatalf("read %d events, want %d", len(got), len(evs))
	}
	for i, e := range got {
		assertSameEvent(t, e, evs[i])
		if e.StreamID != stream {
			t.Errorf("event %d: stream %q, want %q", i, e.StreamID, stream)
		}
		if e.Version != int64(i+1) {
			t.Errorf("event %d: version %d, want %d", i, e.Version, i+1)
		}
		if i > 0 && e.Position <= got[i-1].Position {
			t.Errorf("event %d: position %d not above %d", i, e.Position, got[i-1].Position)
		}
		// Loose: the store's clock need not be ours.
		if e.RecordedAt.IsZero() || e.RecordedAt.Before(before.Add(-24*time.Hour)) {
			t.Errorf("event %d: recorded at %v, want a time near %v", i, e.RecordedAt, before)
		}
	}
	if res.Position != got[2].Position {
		t.Errorf("append result position %d, want the last event's %d", res.Position, got[2].Position)
	}

	all := readAllOurs(t, s, st, 0, len(evs))
	if len(all) != len(evs) {
		t.Fatalf("global log has %d events of the stream, want %d", len(all), len(evs))
	}
	for i, e := range all {
		if e.Position != got[i].Position || e.Version != got[i].Version || !e.RecordedAt.Equal(got[i].RecordedAt) {
			t.Errorf("global log event %d is %s@%d at %d, stream read gave %s@%d at %d",
				i, e.StreamID, e.Version, e.Position, got[i].StreamID, got[i].Version, got[i].Position)
		}
		assertSameEvent(t, e, evs[i])
	}

	more := mustAppend(t, s, stream, 3, newEvents(2, "more"))
	if more.FirstVersion != 4 || more.LastVersion != 5 || more.Position <= res.Position {
		t.Errorf("second append result %+v, want versions 4..5 at a position above %d", more, res.Position)
	}
}

func testReadStreamFromVersionWithLimit(t *testing.T, s events.Store) {
	st := newStreams()
	stream := st.name("paged")
	evs := newEvents(10, "paged")
	mustAppend(t, s, stream, events.NoStream, evs[:4])
	mustAppend(t, s, stream, 4, evs[4:])

	tests := []struct {
		from       int64
		limit      int
		wantFirst  int64
		wantLength int
	}{
		{from: 1, limit: 0, wantFirst: 1, wantLength: 10},
		{from: 0, limit: 100, wantFirst: 1, wantLength: 10},
		{from: 4, limit: 3, wantFirst: 4, wantLength: 3},
		{from: 8, limit: 5, wantFirst: 8, wantLength: 3},
		{from: 10, limit: 1, wantFirst: 10, wantLength: 1},
		{from: 11, limit: 5, wantLength: 0},
	}
	for _, tc := range tests {
		got := mustReadStream(t, s, stream, tc.from, tc.limit)
		if len(got) != tc.wantLength {
			t.Errorf("from %d limit %d: %d events, want %d", tc.from, tc.limit, len(got), tc.wantLength)
			continue
		}
		for i, e := range got {
			if want := tc.wantFirst + int64(i); e.Version != want {
				t.Errorf("from %d limit %d: event %d has version %d, want %d", tc.from, tc.limit, i, e.Version, want)
			}
			assertSameEvent(t, e, evs[e.Version-1])
		}
	}
}

func testReadStreamOfUnknownStream(t *testing.T, s events.Store) {
	st := newStreams()
	got, err := s.ReadStream(t.Context(), st.name("never-written"), 1, 10)
	if err != nil {
		t.Fatalf("read a stream with no events: %v, want no error", err)
	}
	if len(got) != 0 {
		t.Fatalf("read %d events of a stream with no events", len(got))
	}
}

func testExpectedVersionConflicts(t *testing.T, s events.Store) {
	st := newStreams()
	stream := st.name("conflicts")
	stored := newEvents(3, "stored")
	mustAppend(t, s, stream, events.NoStream, stored[:2])
	mustAppend(t, s, stream, 2, stored[2:])

	tests := []struct {
		name     string
		stream   string
		expected events.ExpectedVersion
		actual   int64
	}{
		{"NoStreamOnExistingStream", stream, events.NoStream, 3},
		{"StaleVersion", stream, 2, 3},
		{"VersionAhead", stream, 4, 3},
		{"VersionOfMissingStream", st.name("missing"), 1, 0},
	}
	for _, tc := range tests {
		_, err := s.Append(t.Context(), tc.stream, tc.expected, newEvents(2, tc.name))
		assertConflict(t, err, tc.stream, tc.expected, tc.actual)
	}

	// Nothing was stored: the stream still ends at 3, the missing stream is
	// still missing, and the global log holds only the three events up to a
	// sentinel appended after the conflicts.
	if got := mustReadStream(t, s, stream, 1, 0); !slices.Equal(eventIDs(got), eventIDs(stored)) {
		t.Fatalf("stream holds %v after conflicts, want %v", eventIDs(got), eventIDs(stored))
	}
	if got := mustReadStream(t, s, st.name("missing"), 1, 0); len(got) != 0 {
		t.Fatalf("missing stream holds %d events after a conflicting append", len(got))
	}
	sentinel := newEvent("sentinel")
	res := mustAppend(t, s, stream, events.AnyVersion, []events.EventData{sentinel})
	if res.FirstVersion != 4 {
		t.Fatalf("sentinel appended at version %d, want 4", res.FirstVersion)
	}
	all := readAllOurs(t, s, st, 0, 4)
	want := append(eventIDs(stored), sentinel.EventID)
	if !slices.Equal(eventIDs(all), want) {
		t.Fatalf("global log holds %v, want %v", eventIDs(all), want)
	}
}

func testAnyVersionAlwaysAppends(t *testing.T, s events.Store) {
	st := newStreams()
	stream := st.name("any")
	first := mustAppend(t, s, stream, events.AnyVersion, newEvents(2, "new-stream"))
	if first.FirstVersion != 1 || first.LastVersion != 2 {
		t.Fatalf("AnyVersion on a new stream appended at %d..%d, want 1..2", first.FirstVersion, first.LastVersion)
	}
	mustAppend(t, s, stream, 2, newEvents(1, "exact"))
	next := mustAppend(t, s, stream, events.AnyVersion, newEvents(3, "existing-stream"))
	if next.FirstVersion != 4 || next.LastVersion != 6 {
		t.Fatalf("AnyVersion on a stream at 3 appended at %d..%d, want 4..6", next.FirstVersion, next.LastVersion)
	}
	if got := mustReadStream(t, s, stream, 1, 0); len(got) != 6 {
		t.Fatalf("stream holds %d events, want 6", len(got))
	}
}
