package pgstore_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/tellyou/tellyou/events"
	"github.com/tellyou/tellyou/events/pgstore"
	"github.com/tellyou/tellyou/events/pgstore/pgtest"
)

func TestAppendRefusesInvalidInput(t *testing.T) {
	t.Parallel()
	s := newStore(t, pgtest.NewPool(t), pgstore.Config{})
	valid := event("valid")
	with := func(change func(e *events.EventData)) []events.EventData {
		e := event("changed")
		change(&e)
		return []events.EventData{e}
	}
	tests := []struct {
		name     string
		stream   string
		expected events.ExpectedVersion
		events   []events.EventData
		want     string
	}{
		{"EmptyStreamID", "", events.AnyVersion, []events.EventData{valid}, "empty stream id"},
		{"NoEvents", "s", events.AnyVersion, nil, "no events"},
		{"TooManyEvents", "s", events.AnyVersion, make([]events.EventData, events.MaxAppendEvents+1), "more than the maximum"},
		{"BadExpectedVersion", "s", -2, []events.EventData{valid}, "invalid expected version"},
		{"NilEventID", "s", events.AnyVersion, with(func(e *events.EventData) { e.EventID = uuid.Nil }), "nil event id"},
		{"EmptyType", "s", events.AnyVersion, with(func(e *events.EventData) { e.Type = "" }), "empty type"},
		{"DataNotJSON", "s", events.AnyVersion, with(func(e *events.EventData) { e.Data = []byte(`{"a":`) }), "data is not a JSON object"},
		{"DataArray", "s", events.AnyVersion, with(func(e *events.EventData) { e.Data = []byte(`[1]`) }), "data is not a JSON object"},
		{"DataEmpty", "s", events.AnyVersion, with(func(e *events.EventData) { e.Data = nil }), "data is not a JSON object"},
		{"MetadataString", "s", events.AnyVersion, with(func(e *events.EventData) { e.Metadata = []byte(`"x"`) }), "metadata is not a JSON object"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.Append(t.Context(), tc.stream, tc.expected, tc.events)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error saying %q", err, tc.want)
			}
		})
	}

	t.Run("SameIDTwice", func(t *testing.T) {
		_, err := s.Append(t.Context(), "s", events.AnyVersion, []events.EventData{valid, valid})
		if !errors.Is(err, events.ErrDuplicateEventID) {
			t.Fatalf("got %v, want an error matching ErrDuplicateEventID", err)
		}
	})
	if evs, err := s.ReadStream(t.Context(), "s", 1, 0); err != nil || len(evs) != 0 {
		t.Fatalf("refused appends stored %d events, %v", len(evs), err)
	}
}

// TestPositionsOfOneAppendAreConsecutive pins the layout the package
// documents: one transaction's events take consecutive positions.
func TestPositionsOfOneAppendAreConsecutive(t *testing.T) {
	t.Parallel()
	s := newStore(t, pgtest.NewPool(t), pgstore.Config{})
	res, err := s.Append(t.Context(), "s", events.NoStream, []events.EventData{event("a"), event("b"), event("c")})
	if err != nil {
		t.Fatal(err)
	}
	evs, err := s.ReadStream(t.Context(), "s", 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	for i, e := range evs {
		if want := res.Position - events.Position(len(evs)-1-i); e.Position != want {
			t.Errorf("event %d at %d, want %d", i, e.Position, want)
		}
	}
}
