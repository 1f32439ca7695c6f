package esdbstore

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/google/uuid"

	"github.com/tellyou/tellyou/events"
)

// validateAppend refuses an append the store cannot take as it is, before
// anything is sent to the server (the same rules as the PostgreSQL store).
func validateAppend(streamID string, expected events.ExpectedVersion, evs []events.EventData) error {
	if streamID == "" {
		return errors.New("empty stream id")
	}
	if expected < events.AnyVersion {
		return fmt.Errorf("invalid expected version %d", expected)
	}
	if len(evs) == 0 {
		return errors.New("no events")
	}
	if len(evs) > events.MaxAppendEvents {
		return fmt.Errorf("%d events, more than the maximum of %d per append", len(evs), events.MaxAppendEvents)
	}
	seen := make(map[uuid.UUID]struct{}, len(evs))
	for i, e := range evs {
		if e.EventID == uuid.Nil {
			return fmt.Errorf("event %d: nil event id", i)
		}
		if _, dup := seen[e.EventID]; dup {
			return fmt.Errorf("event %d: id %s appears twice in the append: %w", i, e.EventID, events.ErrDuplicateEventID)
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
