package feedbus_test

import (
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"

	"github.com/tellyou/tellyou/events"
	"github.com/tellyou/tellyou/handlers/eventview"
	"github.com/tellyou/tellyou/handlers/feedbus"
)

func recordedSent(t *testing.T) events.RecordedEvent {
	t.Helper()
	ed, err := events.Encode(events.Envelope{Meta: events.Metadata{Actor: "ann", OccurredAt: 1700000000000},
		Payload: events.MessageSent{SessionID: "g:team", MessageID: "m", Seq: 4, SenderID: "ann", MessageType: 1, Content: "<hi>"}})
	if err != nil {
		t.Fatal(err)
	}
	return events.RecordedEvent{StreamID: "g:team", Version: 7, Position: 42 << 20, EventID: ed.EventID,
		Type: ed.Type, Data: ed.Data, Metadata: ed.Metadata}
}

func TestNewMessageCarriesTheViewAndItsMetadata(t *testing.T) {
	t.Parallel()
	r := recordedSent(t)
	m, err := feedbus.NewMessage(r)
	if err != nil {
		t.Fatal(err)
	}
	want, err := eventview.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	if string(m.Payload) != string(want) {
		t.Fatalf("payload %s, want %s", m.Payload, want)
	}
	if m.UUID != r.EventID.String() || m.Metadata.Get(nats.MsgIdHdr) != r.EventID.String() {
		t.Fatalf("UUID %q, Nats-Msg-Id %q, want the event id %s", m.UUID, m.Metadata.Get(nats.MsgIdHdr), r.EventID)
	}
	for key, want := range map[string]string{feedbus.MetadataPosition: "44040192", feedbus.MetadataStreamID: "g:team",
		feedbus.MetadataVersion: "7", feedbus.MetadataEventType: "MessageSent"} {
		if got := m.Metadata.Get(key); got != want {
			t.Errorf("metadata %s = %q, want %q", key, got, want)
		}
	}
	e, err := feedbus.ReadMessage(m)
	if err != nil {
		t.Fatal(err)
	}
	if e.StreamID != "g:team" || e.Version != 7 || e.GlobalPosition != 42<<20 {
		t.Fatalf("ReadMessage = %+v", e)
	}
}

func TestReadMessageRefusesMessagesThatDisagreeWithTheirEvent(t *testing.T) {
	t.Parallel()
	for name, spoil := range map[string]func(m map[string]string) string{
		"position":      func(md map[string]string) string { md[feedbus.MetadataPosition] = "1"; return "" },
		"stream":        func(md map[string]string) string { md[feedbus.MetadataStreamID] = "g:other"; return "" },
		"no version":    func(md map[string]string) string { delete(md, feedbus.MetadataVersion); return "" },
		"type":          func(md map[string]string) string { md[feedbus.MetadataEventType] = "MessageRecalled"; return "" },
		"uuid":          func(map[string]string) string { return uuid.NewString() },
		"payload":       func(map[string]string) string { return "payload" },
		"empty payload": func(map[string]string) string { return "empty" },
	} {
		m, err := feedbus.NewMessage(recordedSent(t))
		if err != nil {
			t.Fatal(err)
		}
		switch what := spoil(m.Metadata); what {
		case "payload":
			m.Payload = []byte(`{"streamId":"g:team"}`)
		case "empty":
			m.Payload = nil
		case "":
		default:
			m.UUID = what
		}
		if _, err := feedbus.ReadMessage(m); err == nil || !strings.Contains(err.Error(), "feed message") {
			t.Errorf("%s: ReadMessage err = %v, want a refusal", name, err)
		}
	}
}

func TestConfigsRefuseWhatCannotWork(t *testing.T) {
	t.Parallel()
	if _, err := feedbus.NewRelay(feedbus.RelayConfig{}); err == nil {
		t.Error("NewRelay without dependencies accepted")
	}
	for _, topic := range []string{"a..b", "feed.*", "feed.>", ".feed", "feed.", "with space", strings.Repeat("x", 201)} {
		if err := feedbus.ValidateTopic(topic); err == nil {
			t.Errorf("topic %q accepted", topic)
		}
	}
	for _, topic := range []string{feedbus.DefaultTopic, "acme-prod.tellyou_feed.v1", "feed"} {
		if err := feedbus.ValidateTopic(topic); err != nil {
			t.Errorf("topic %q refused: %v", topic, err)
		}
	}
	if err := (feedbus.NATSConfig{URL: "nats://x", Topic: "a.b", Stream: "a.b"}).Validate(); err == nil {
		t.Error("a stream name with a dot accepted")
	}
	if err := (feedbus.NATSSubscriberConfig{URL: "nats://x", Topic: "a.b", Stream: "a_b", Durable: ""}).Validate(); err == nil {
		t.Error("a subscriber without a durable name accepted")
	}
	if _, err := feedbus.NewNATSSubscriber(feedbus.NATSSubscriberConfig{URL: "nats://x", Durable: "bad.name"}); err == nil {
		t.Error("a durable name with a dot accepted")
	}
	if got := feedbus.StreamName(feedbus.DefaultTopic); got != "tellyou_feed" {
		t.Errorf("StreamName(%q) = %q", feedbus.DefaultTopic, got)
	}
}
