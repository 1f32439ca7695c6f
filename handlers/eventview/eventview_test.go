package eventview_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/tellyou/tellyou/events"
	"github.com/tellyou/tellyou/handlers/eventview"
)

// sentEvent is a recorded MessageSent whose content holds what JSON encoders
// like to escape.
func sentEvent(t *testing.T, content string) events.RecordedEvent {
	t.Helper()
	id := uuid.MustParse("0b6b1c8e-3f0a-4d55-9a43-7f2f8f1f0a01")
	ed, err := events.Encode(events.Envelope{
		Meta: events.Metadata{EventID: id, CorrelationID: "c-1", CausationID: "f-1", Actor: "ann", OccurredAt: 1700000000123},
		Payload: events.MessageSent{SessionID: "d:ann:bob", MessageID: "m-1", Seq: 1, SenderID: "ann", MessageType: 1,
			Content: content, Ext: json.RawMessage(`{"k":[1,2]}`), ClientMessageID: "c1",
			ClientTimestamp: 1700000000000, ServerTimestamp: 1700000000123, AdjustedTimestamp: 1700000000000},
	})
	if err != nil {
		t.Fatal(err)
	}
	return events.RecordedEvent{StreamID: "d:ann:bob", Version: 2, Position: 1<<20 + 1, EventID: id,
		Type: ed.Type, Data: ed.Data, Metadata: ed.Metadata}
}

func TestMarshalIsOneCompactLineWithFieldsInOrder(t *testing.T) {
	t.Parallel()
	r := sentEvent(t, "hello")
	r.Data = []byte("{\n  \"sessionId\": \"d:ann:bob\",\n  \"content\": \"hello\"\n}")
	got, err := eventview.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"streamId":"d:ann:bob","version":2,"globalPosition":1048577,"type":"MessageSent",` +
		`"data":{"sessionId":"d:ann:bob","content":"hello"},"metadata":` + string(r.Metadata) + `}`
	if string(got) != want {
		t.Fatalf("Marshal:\n got %s\nwant %s", got, want)
	}
}

func TestMarshalLeavesHTMLCharactersAlone(t *testing.T) {
	t.Parallel()
	// The codec escapes these itself; data appended by another writer need
	// not, and the view keeps it byte for byte.
	r := sentEvent(t, "x")
	r.Data = []byte(`{"content":"<b>\"x\" & y</b>"}`)
	got, err := eventview.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(got, []byte(`<b>\"x\" & y</b>`)) {
		t.Fatalf("content escaped for HTML or lost: %s", got)
	}
	if bytes.ContainsAny(got, "\n\r") {
		t.Fatalf("the view spans several lines: %q", got)
	}
}

func TestMarshalRefusesDataThatIsNotJSON(t *testing.T) {
	t.Parallel()
	r := sentEvent(t, "x")
	r.Data = []byte(`{"content":`)
	if _, err := eventview.Marshal(r); err == nil || !strings.Contains(err.Error(), "d:ann:bob@2") {
		t.Fatalf("Marshal of broken data: err = %v, want one naming the event", err)
	}
}

func TestUnmarshalReadsBackMarshal(t *testing.T) {
	t.Parallel()
	r := sentEvent(t, "héllo 😀 <tag>")
	b, err := eventview.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	e, err := eventview.Unmarshal(b)
	if err != nil {
		t.Fatal(err)
	}
	back := e.Recorded()
	if back.StreamID != r.StreamID || back.Version != r.Version || back.Position != r.Position ||
		back.Type != r.Type || back.EventID != r.EventID {
		t.Fatalf("Recorded() = %+v, want the fields of %+v", back, r)
	}
	env, err := events.Decode(back)
	if err != nil {
		t.Fatal(err)
	}
	if got := env.Payload.(events.MessageSent).Content; got != "héllo 😀 <tag>" {
		t.Fatalf("content after a round trip = %q", got)
	}
}

func TestUnmarshalRefusesBadInput(t *testing.T) {
	t.Parallel()
	good := `{"streamId":"s","version":1,"globalPosition":5,"type":"T","data":{},"metadata":{}}`
	if _, err := eventview.Unmarshal([]byte(good)); err != nil {
		t.Fatalf("a valid view refused: %v", err)
	}
	for name, in := range map[string]string{
		"not json":         `nope`,
		"array":            `[]`,
		"no stream":        `{"version":1,"type":"T","data":{},"metadata":{}}`,
		"version 0":        `{"streamId":"s","version":0,"type":"T","data":{},"metadata":{}}`,
		"no type":          `{"streamId":"s","version":1,"data":{},"metadata":{}}`,
		"data not object":  `{"streamId":"s","version":1,"type":"T","data":[1],"metadata":{}}`,
		"no metadata":      `{"streamId":"s","version":1,"type":"T","data":{}}`,
		"trailing object":  good + `{}`,
		"version a string": `{"streamId":"s","version":"1","type":"T","data":{},"metadata":{}}`,
	} {
		if _, err := eventview.Unmarshal([]byte(in)); err == nil {
			t.Errorf("%s: Unmarshal(%s) accepted it", name, in)
		}
	}
}
