package storetest

import (
	"slices"
	"testing"

	"github.com/tellyou/tellyou/events"
)

func testGlobalOrder(t *testing.T, s events.Store) {
	st := newStreams()
	a, b, c := st.name("a"), st.name("b"), st.name("c")
	var appended []events.EventData
	appendTo := func(stream string, expected events.ExpectedVersion, n int) events.AppendResult {
		evs := newEvents(n, stream)
		appended = append(appended, evs...)
		return mustAppend(t, s, stream, expected, evs)
	}
	appendTo(a, events.NoStream, 2)
	appendTo(b, events.NoStream, 1)
	appendTo(a, 2, 3)
	appendTo(c, events.AnyVersion, 1)
	appendTo(b, 1, 2)
	last := appendTo(a, 5, 1)

	all := readAllOurs(t, s, st, 0, len(appended))
	if len(all) != len(appended) {
		t.Fatalf("global log holds %d events of this test, want %d", len(all), len(appended))
	}
	assertGlobalOrder(t, all)
	// Each event is where ReadStream says it is.
	for _, stream := range []string{a, b, c} {
		byStream := mustReadStream(t, s, stream, 1, 0)
		var inLog []events.RecordedEvent
		for _, e := range all {
			if e.StreamID == stream {
				inLog = append(inLog, e)
			}
		}
		if len(inLog) != len(byStream) {
			t.Fatalf("global log holds %d events of %s, the stream %d", len(inLog), stream, len(byStream))
		}
		for i := range inLog {
			if inLog[i].EventID != byStream[i].EventID || inLog[i].Position != byStream[i].Position {
				t.Errorf("%s: global log has %s at %d where the stream has %s at %d",
					stream, inLog[i].EventID, inLog[i].Position, byStream[i].EventID, byStream[i].Position)
			}
		}
	}
	if got := all[len(all)-1].Position; got != last.Position {
		t.Errorf("last event of the global log at %d, the last append reported %d", got, last.Position)
	}

	// Resuming after any position gives exactly the rest; a limit gives its
	// first events.
	for i, e := range all {
		rest := readAllOurs(t, s, st, e.Position, len(all)-i-1)
		if !slices.Equal(eventIDs(rest), eventIDs(all[i+1:])) {
			t.Fatalf("after position %d: %v, want %v", e.Position, eventIDs(rest), eventIDs(all[i+1:]))
		}
	}
	full, err := s.ReadAll(t.Context(), all[1].Position, 0)
	if err != nil {
		t.Fatalf("read all: %v", err)
	}
	limited, err := s.ReadAll(t.Context(), all[1].Position, 3)
	if err != nil {
		t.Fatalf("read all with limit 3: %v", err)
	}
	if len(full) < 3 || !slices.Equal(eventIDs(limited), eventIDs(full[:3])) {
		t.Errorf("read all with limit 3 gave %v, want the first 3 of %v", eventIDs(limited), eventIDs(full))
	}

	// What ReadAll has shown is final, so Head has reached it.
	head, err := s.Head(t.Context())
	if err != nil {
		t.Fatalf("head: %v", err)
	}
	if head < last.Position {
		t.Errorf("head is %d, below the last event %d that ReadAll has shown", head, last.Position)
	}
}
