package events_test

import (
	"errors"
	"testing"

	"github.com/google/uuid"

	"github.com/tellyou/tellyou/events"
)

func TestValidateAppend(t *testing.T) {
	t.Parallel()
	ok := events.EventData{EventID: uuid.New(), Type: "T", Data: []byte(`{}`), Metadata: []byte(` {"a":1}`)}
	if err := events.ValidateAppend("d:a:b", events.AnyVersion, []events.EventData{ok}); err != nil {
		t.Fatalf("valid append refused: %v", err)
	}
	if err := events.ValidateAppend("d:a:b", 1, []events.EventData{ok, ok}); !errors.Is(err, events.ErrDuplicateEventID) {
		t.Errorf("repeated id: %v, want ErrDuplicateEventID", err)
	}
	bad := ok
	bad.Data = []byte(`[]`)
	for name, tc := range map[string]struct {
		stream   string
		expected events.ExpectedVersion
		evs      []events.EventData
	}{
		"empty stream":    {"", 0, []events.EventData{ok}},
		"expected < any":  {"s", -2, []events.EventData{ok}},
		"no events":       {"s", 0, nil},
		"data not object": {"s", 0, []events.EventData{bad}},
		"nil id":          {"s", 0, []events.EventData{{Type: "T", Data: []byte(`{}`), Metadata: []byte(`{}`)}}},
	} {
		if err := events.ValidateAppend(tc.stream, tc.expected, tc.evs); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
