package projections_test

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/tellyou/tellyou/events"
	"github.com/tellyou/tellyou/projections"
)

// decodeCases are events as events.Encode writes them, and variants of them.
func decodeCases(t testing.TB) []events.RecordedEvent {
	t.Helper()
	payloads := []events.Payload{
		events.MessageSent{SessionID: "g:1", MessageID: uuid.NewString(), Seq: 7, SenderID: "alice", MessageType: 1,
			Content: "plain", ClientMessageID: "c1", ClientTimestamp: -5, ServerTimestamp: 1 << 62, AdjustedTimestamp: 0},
		events.MessageSent{SessionID: "d:a:b", MessageID: "not a uuid", Seq: 1, SenderID: "b", MessageType: -1,
			Content: strings.TrimSuffix(multiByteLine, "\n"), ClientMessageID: ""},
		events.MessageSent{SessionID: "d:a:b", MessageID: uuid.NewString(), Seq: 1, SenderID: "b",
			Content: multiByteLine + "\u2028 tab\there <b>&amp;</b> quote\" back\\slash nul\x00"},
		events.MessageSent{SessionID: "g:2", MessageID: uuid.NewString(), Seq: 2, Content: "with ext", Ext: json.RawMessage(`{"k":[1,"two"]}`)},
		events.MessageSent{SessionID: "g:3", Content: string([]byte{0xff, 'x', 0xc3})},
		events.MessagesReceived{SessionID: "g:1", UserID: "bob", UpToSeq: 3},
		events.MessagesRead{SessionID: "g:1", UserID: "bob\x00", UpToSeq: 9},
		events.MessageRecalled{SessionID: "g:1", MessageID: uuid.NewString(), Seq: 1, By: "alice", RecalledAt: 4},
		events.SessionCreated{SessionID: "g:1", Kind: events.KindGroup, Members: []string{"a", "b"}, CreatedAt: 1},
	}
	var out []events.RecordedEvent
	for _, p := range payloads {
		d, err := events.Encode(events.Envelope{Payload: p, Meta: events.Metadata{CorrelationID: "r-1",
			CausationID: "é", Actor: "alice", OccurredAt: 1700000000000}})
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, events.RecordedEvent{StreamID: "s", Version: 1, Type: d.Type, Data: d.Data, Metadata: d.Metadata})
	}
	return out
}

func sameDecoding(t *testing.T, ev events.RecordedEvent) {
	t.Helper()
	got, gotErr := projections.DecodeForLoad(ev)
	want, wantErr := events.Decode(ev)
	if (gotErr == nil) != (wantErr == nil) || (gotErr != nil && gotErr.Error() != wantErr.Error()) {
		t.Fatalf("%s %q %q: error %v, events.Decode's %v", ev.Type, ev.Data, ev.Metadata, gotErr, wantErr)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%s %q %q:\ndecoded %#v\nevents.Decode %#v", ev.Type, ev.Data, ev.Metadata, got, want)
	}
}

func TestDecodeForLoadReadsWhatEventsDecodeReads(t *testing.T) {
	t.Parallel()
	direct := 0
	for _, ev := range decodeCases(t) {
		sameDecoding(t, ev)
		if projections.DecodesDirectly(ev) {
			direct++
		}
	}
	// The messages without escapes or ext, and the ack of a user whose id
	// needs none.
	if direct != 3 {
		t.Errorf("%d events read directly, want 3", direct)
	}
}

func FuzzDecodeForLoad(f *testing.F) {
	for _, ev := range decodeCases(f) {
		f.Add(ev.Type, ev.Data, ev.Metadata)
	}
	f.Fuzz(func(t *testing.T, eventType string, data, metadata []byte) {
		sameDecoding(t, events.RecordedEvent{StreamID: "s", Version: 1, Type: eventType, Data: data, Metadata: metadata})
	})
}
