package events_test

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/tellyou/tellyou/events"
)

func TestEncodeDecodeRoundTripsEveryEventType(t *testing.T) {
	t.Parallel()
	payloads := []events.Payload{
		events.SessionCreated{SessionID: "g:1", Kind: events.KindGroup, Title: "team", Owner: "ann", Members: []string{"ann", "bob"}, CreatedAt: 5},
		events.MembersAdded{SessionID: "g:1", Members: []string{"cid"}, By: "ann", AtSeq: 3},
		events.MembersRemoved{SessionID: "g:1", Members: []string{"bob"}, By: "ann"},
		events.MessageSent{SessionID: "d:ann:bob", MessageID: uuid.NewString(), Seq: 7, SenderID: "ann", MessageType: 1,
			Content: "héllo", Ext: json.RawMessage(`{"k":[1,2]}`), ClientMessageID: "c1", ClientTimestamp: 10, ServerTimestamp: 11, AdjustedTimestamp: 10},
		events.MessagesReceived{SessionID: "d:ann:bob", UserID: "bob", UpToSeq: 7},
		events.MessagesRead{SessionID: "d:ann:bob", UserID: "bob", UpToSeq: 6},
		events.MessageRecalled{SessionID: "d:ann:bob", MessageID: "m", Seq: 7, By: "ann", RecalledAt: 12},
		events.MessageEdited{SessionID: "d:ann:bob", MessageID: "m", Seq: 7, By: "ann", EditedAt: 13,
			Sealed: &events.Sealed{KeyID: uuid.NewString(), Nonce: []byte{1, 2, 3}, Ciphertext: []byte{4, 5}}},
	}
	for _, p := range payloads {
		t.Run(p.EventType(), func(t *testing.T) {
			t.Parallel()
			meta := events.Metadata{CorrelationID: "corr", CausationID: "cause", Actor: "ann", OccurredAt: 99}
			d, err := events.Encode(events.Envelope{Meta: meta, Payload: p})
			if err != nil {
				t.Fatal(err)
			}
			if d.EventID == uuid.Nil || d.Type != p.EventType() {
				t.Fatalf("encoded id %v type %q", d.EventID, d.Type)
			}
			env, err := events.Decode(events.RecordedEvent{StreamID: "s", Version: 1, EventID: d.EventID, Type: d.Type, Data: d.Data, Metadata: d.Metadata})
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(env.Payload, p) {
				t.Fatalf("payload = %#v, want %#v", env.Payload, p)
			}
			meta.EventID, meta.SchemaVersion = d.EventID, events.SchemaVersionOf(p)
			if env.Meta != meta {
				t.Fatalf("metadata = %+v, want %+v", env.Meta, meta)
			}
		})
	}
}

func TestDecodeRefusesWhatItCannotRead(t *testing.T) {
	t.Parallel()
	goodMeta := `{"eventId":"` + uuid.NewString() + `","schemaVersion":1}`
	cases := []struct {
		name, typ, data, meta, want string
	}{
		{"unknown type", "Nope", `{}`, goodMeta, "unknown event type"},
		{"future schema", events.TypeMessageSent, `{}`, `{"schemaVersion":99}`, "unsupported schema version"},
		{"no schema", events.TypeMessageSent, `{}`, `{}`, "unsupported schema version"},
		{"metadata not JSON", events.TypeMessageSent, `{}`, `nope`, "metadata"},
		{"payload not an object", events.TypeMessageSent, `[1]`, goodMeta, "not a JSON object"},
		{"payload wrong field type", events.TypeMessageSent, `{"seq":"oops"}`, goodMeta, "MessageSent payload"},
		{"payload truncated", events.TypeMessagesRead, `{"upToSeq":`, goodMeta, "MessagesRead payload"},
		{"sealed content in version 1", events.TypeMessageSent, `{"content":"","sealed":{"kid":"k","nonce":"AQ==","ct":"Ag=="}}`, goodMeta, "does not match"},
		{"clear content in version 2", events.TypeMessageSent, `{"content":"hi"}`, `{"schemaVersion":2}`, "does not match"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			_, err := events.Decode(events.RecordedEvent{StreamID: "s", Version: 3, Type: c.typ, Data: []byte(c.data), Metadata: []byte(c.meta)})
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "s@3") {
				t.Fatalf("Decode = %v, want an error naming s@3 and containing %q", err, c.want)
			}
		})
	}
}

func TestEncodeKeepsAGivenEventIDAndRefusesNoPayload(t *testing.T) {
	t.Parallel()
	id := uuid.New()
	d, err := events.Encode(events.Envelope{Meta: events.Metadata{EventID: id}, Payload: events.MessagesRead{}})
	if err != nil || d.EventID != id {
		t.Fatalf("Encode = %v, %v; want id %v", d.EventID, err, id)
	}
	if _, err := events.Encode(events.Envelope{}); err == nil {
		t.Fatal("Encode without payload succeeded")
	}
}

func TestVersionConflictErrorMatchesSentinel(t *testing.T) {
	t.Parallel()
	var err error = &events.VersionConflictError{StreamID: "s", Expected: 2, Actual: 3}
	if !strings.Contains(err.Error(), "expected version 2, actual 3") {
		t.Fatalf("message %q", err)
	}
	if !errors.Is(err, events.ErrWrongExpectedVersion) {
		t.Fatal("VersionConflictError does not match ErrWrongExpectedVersion")
	}
}
