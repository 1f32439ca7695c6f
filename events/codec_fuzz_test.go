package events_test

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"

	"github.com/google/uuid"

	"github.com/tellyou/tellyou/events"
)

// FuzzCodec checks the codec on arbitrary recorded events: Decode never
// panics, and an event it accepts survives Encode and a second Decode
// unchanged. Equality is exact for every field but two, which Encode defines
// differently: a zero event id is replaced by a fresh one (Encode's
// contract), and a payload's raw JSON (MessageSent.Ext) comes back compacted
// and HTML-escaped, as encoding/json writes raw JSON; it must stay the same
// JSON value. The seeds, in testdata/fuzz/FuzzCodec, hold every event type as
// Encode writes it and the nasty cases.
//
// Bounded run: go test -run '^$' -fuzz '^FuzzCodec$' -fuzztime 10s ./events/
func FuzzCodec(f *testing.F) {
	f.Add(events.TypeMessagesRead, []byte(`{"sessionId":"d:a:b","userId":"a","upToSeq":3}`),
		[]byte(`{"eventId":"6c1d8a4e-2a7b-4c1e-9f62-3c5d0c2a8e11","actor":"a","schemaVersion":1}`))
	f.Fuzz(func(t *testing.T, typ string, data, metadata []byte) {
		rec := events.RecordedEvent{StreamID: "s", Version: 1, Type: typ, Data: data, Metadata: metadata}
		first, err := events.Decode(rec)
		if err != nil {
			return
		}
		if first.Payload == nil || first.Payload.EventType() != typ {
			t.Fatalf("Decode(%s) gave payload %#v", typ, first.Payload)
		}
		encoded, err := events.Encode(first)
		if err != nil {
			t.Fatalf("Encode(Decode(%s %q %q)): %v", typ, data, metadata, err)
		}
		if encoded.Type != typ || encoded.EventID == uuid.Nil || (first.Meta.EventID != uuid.Nil && encoded.EventID != first.Meta.EventID) {
			t.Fatalf("Encode gave type %q and id %v for a %s with id %v", encoded.Type, encoded.EventID, typ, first.Meta.EventID)
		}
		second, err := events.Decode(events.RecordedEvent{StreamID: "s", Version: 1, EventID: encoded.EventID,
			Type: encoded.Type, Data: encoded.Data, Metadata: encoded.Metadata})
		if err != nil {
			t.Fatalf("Decode(Encode(Decode(%s %q %q))) = %v; encoded %s %s", typ, data, metadata, err, encoded.Data, encoded.Metadata)
		}
		want := first
		if want.Meta.EventID == uuid.Nil {
			want.Meta.EventID = encoded.EventID
		}
		if want.Meta != second.Meta {
			t.Fatalf("metadata %+v came back as %+v", want.Meta, second.Meta)
		}
		wantPayload, gotPayload := want.Payload, second.Payload
		if w, ok := wantPayload.(events.MessageSent); ok {
			g := gotPayload.(events.MessageSent)
			if !sameJSON(w.Ext, g.Ext) {
				t.Fatalf("ext %q came back as %q", w.Ext, g.Ext)
			}
			w.Ext, g.Ext = nil, nil
			wantPayload, gotPayload = w, g
		}
		if !reflect.DeepEqual(wantPayload, gotPayload) {
			t.Fatalf("payload %#v came back as %#v", wantPayload, gotPayload)
		}
	})
}

// sameJSON reports whether a and b are the same JSON value (both absent
// counts as the same), numbers compared by their text.
func sameJSON(a, b json.RawMessage) bool {
	if len(a) == 0 || len(b) == 0 {
		return len(a) == len(b)
	}
	var va, vb any
	if err := unmarshalNumbers(a, &va); err != nil {
		return false
	}
	if err := unmarshalNumbers(b, &vb); err != nil {
		return false
	}
	return reflect.DeepEqual(va, vb)
}

func unmarshalNumbers(raw []byte, v *any) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	return dec.Decode(v)
}
