package events

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/google/uuid"
)

// canonicalCases are events as Encode writes them, and variants of them that
// the direct reader must decline or read exactly as encoding/json does.
func canonicalCases(t testing.TB) []RecordedEvent {
	t.Helper()
	multiByte := "naïve café 日本語 😀"
	payloads := []Payload{
		MessageSent{SessionID: "g:1", MessageID: uuid.NewString(), Seq: 7, SenderID: "alice", MessageType: 1,
			Content: "plain", ClientMessageID: "c1", ClientTimestamp: -5, ServerTimestamp: 1 << 62, AdjustedTimestamp: 0},
		MessageSent{SessionID: "d:a:b", MessageID: "not a uuid", Seq: 1, SenderID: "b", MessageType: -1,
			Content: multiByte, ClientMessageID: ""},
		MessageSent{SessionID: "d:a:b", MessageID: uuid.NewString(), Seq: 1, SenderID: "b",
			Content: multiByte + "\u2028 tab\there <b>&amp;</b> quote\" back\\slash nul\x00"},
		MessageSent{SessionID: "g:2", MessageID: uuid.NewString(), Seq: 2, Content: "with ext", Ext: json.RawMessage(`{"k":[1,"two"]}`)},
		MessageSent{SessionID: "g:3", Content: string([]byte{0xff, 'x', 0xc3})},
		MessageSent{SessionID: "g:4", MessageID: uuid.NewString(), Seq: 3, SenderID: "alice", MessageType: 1,
			Sealed: &Sealed{KeyID: uuid.NewString(), Nonce: []byte("twelve bytes"), Ciphertext: []byte{0, 0xff, '"', 1, 2}}},
		MessageSent{SessionID: "g:4", MessageID: uuid.NewString(), Seq: 4, SenderID: "alice",
			Sealed: &Sealed{KeyID: "k", Nonce: []byte{}, Ciphertext: nil}},
		MessageEdited{SessionID: "g:4", MessageID: "m", Seq: 3, By: "alice",
			Sealed: &Sealed{KeyID: "k", Nonce: []byte{1}, Ciphertext: []byte{2}}},
		MessagesReceived{SessionID: "g:1", UserID: "bob", UpToSeq: 3},
		MessagesRead{SessionID: "g:1", UserID: "bob\x00", UpToSeq: 9},
		MessageRecalled{SessionID: "g:1", MessageID: uuid.NewString(), Seq: 1, By: "alice", RecalledAt: 4},
		SessionCreated{SessionID: "g:1", Kind: KindGroup, Members: []string{"a", "b"}, CreatedAt: 1},
	}
	var out []RecordedEvent
	for _, p := range payloads {
		d, err := Encode(Envelope{Payload: p, Meta: Metadata{CorrelationID: "r-1",
			CausationID: "é", Actor: "alice", OccurredAt: 1700000000000}})
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, RecordedEvent{StreamID: "s", Version: 1, Type: d.Type, Data: d.Data, Metadata: d.Metadata})
	}
	return out
}

// sameDecoding fails unless the direct reader, when it reads ev at all, gives
// what encoding/json gives.
func sameDecoding(t *testing.T, ev RecordedEvent) bool {
	t.Helper()
	got, ok := decodeCanonical(ev)
	if !ok {
		return false
	}
	want, err := decodeJSON(ev)
	if err != nil {
		t.Fatalf("%s %q %q: read directly, but encoding/json refuses it: %v", ev.Type, ev.Data, ev.Metadata, err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%s %q %q:\ndirect %#v\nencoding/json %#v", ev.Type, ev.Data, ev.Metadata, got, want)
	}
	return true
}

func TestCanonicalReaderReadsWhatEncodingJSONReads(t *testing.T) {
	t.Parallel()
	direct := 0
	for _, ev := range canonicalCases(t) {
		if sameDecoding(t, ev) {
			direct++
		}
	}
	// The messages without escapes or ext (one of them sealed; the one with
	// a null ciphertext is declined), and the ack of a user whose id needs none.
	if direct != 4 {
		t.Errorf("%d events read directly, want 4", direct)
	}
}

func FuzzCanonicalReader(f *testing.F) {
	for _, ev := range canonicalCases(f) {
		f.Add(ev.Type, ev.Data, ev.Metadata)
	}
	f.Fuzz(func(t *testing.T, eventType string, data, metadata []byte) {
		sameDecoding(t, RecordedEvent{StreamID: "s", Version: 1, Type: eventType, Data: data, Metadata: metadata})
	})
}
