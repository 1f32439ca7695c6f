package events

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/google/uuid"
)

// ValidateAppend refuses an append no store can take as it is. Stores call it
// before anything reaches their database, so every store refuses the same input.
func ValidateAppend(streamID string, expected ExpectedVersion, evs []EventData) error {
	if streamID == "" {
		return errors.New("empty stream id")
	}
	if expected < AnyVersion {
		return fmt.Errorf("invalid expected version %d", expected)
	}
	if len(evs) == 0 {
		return errors.New("no events")
	}
	if len(evs) > MaxAppendEvents {
		return fmt.Errorf("%d events, more than the maximum of %d per append", len(evs), MaxAppendEvents)
	}
	seen := make(map[uuid.UUID]struct{}, len(evs))
	for i, e := range evs {
		if e.EventID == uuid.Nil {
			return fmt.Errorf("event %d: nil event id", i)
		}
		if _, dup := seen[e.EventID]; dup {
			return fmt.Errorf("event %d: id %s appears twice in the append: %w", i, e.EventID, ErrDuplicateEventID)
		}
		seen[e.EventID] = struct{}{}
		if e.Type == "" {
			return fmt.Errorf("event %d (%s): empty type", i, e.EventID)
		}
		if !isJSONObject(e.Data) {
			return fmt.Errorf("event %d (%s): data is not a JSON object", i, e.EventID)
		}
		if !isJSONObject(e.Metadata) {
			return fmt.Errorf("event %d (%s): metadata is not a JSON object", i, e.EventID)
		}
	}
	return nil
}

func isJSONObject(b []byte) bool {
	t := bytes.TrimLeft(b, " \t\r\n")
	return len(t) > 0 && t[0] == '{' && json.Valid(b)
}
