package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"testing"
	"time"

	"github.com/tellyou/tellyou/cmd/tellyou/servertest"
	"github.com/tellyou/tellyou/events"
	"github.com/tellyou/tellyou/events/pgstore/pgtest"
	"github.com/tellyou/tellyou/handlers/feedbus"
)

// With TELLYOU_FEED_TOPIC set, serve publishes the log on the NATS bus: a
// consumer of the topic gets a message sent over the WebSocket, as the feed's
// JSON.
func TestServePublishesTheFeedOnNATS(t *testing.T) {
	t.Parallel()
	suffix := make([]byte, 6)
	_, _ = rand.Read(suffix)
	id := hex.EncodeToString(suffix)
	prefix, topic := "servefeed_"+id, "servefeed"+id+".feed"
	t.Cleanup(func() { servertest.DeleteNATSStreams(t, prefix+"_events", feedbus.StreamName(topic)) })
	n := startNodeEnv(t, map[string]string{
		"TELLYOU_DATABASE_URL": pgtest.NewDatabase(t), "TELLYOU_JWT_SECRET": "serve-test-secret-0123456789abcdef",
		"TELLYOU_BUS": "nats://127.0.0.1:4222", "TELLYOU_BUS_PREFIX": prefix, "TELLYOU_FEED_TOPIC": topic,
	})
	ann := n.dial(t, "ann")
	writeFrame(t, ann, `{"type":"send","id":"s1","toUserId":"bob","messageType":1,"content":"for the analysts","clientMessageId":"c1"}`)
	ack := readUntil(t, ann, "sendAck")

	sub, err := feedbus.NewNATSSubscriber(feedbus.NATSSubscriberConfig{URL: "nats://127.0.0.1:4222", Topic: topic, Durable: "servetest"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sub.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	msgs, err := sub.Subscribe(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	for {
		select {
		case <-ctx.Done():
			t.Fatal("no MessageSent on the feed within 60s")
		case m := <-msgs:
			ev, err := feedbus.ReadMessage(m)
			m.Ack()
			if err != nil {
				t.Fatal(err)
			}
			if ev.Type != events.TypeMessageSent {
				continue
			}
			// The feed carries events as stored: metadata in clear,
			// content sealed (see SECURITY.md).
			var data struct {
				Content string          `json:"content"`
				Seq     int64           `json:"seq"`
				Sealed  json.RawMessage `json:"sealed"`
			}
			if err := json.Unmarshal(ev.Data, &data); err != nil {
				t.Fatal(err)
			}
			if ev.StreamID != ack["sessionId"] || data.Content != "" || data.Seq != 1 || len(data.Sealed) == 0 ||
				bytes.Contains(ev.Data, []byte("for the analysts")) {
				t.Fatalf("feed carried %s %s seq %d %s, want the message just sent, sealed", ev.Type, ev.StreamID, data.Seq, ev.Data)
			}
			return
		}
	}
}
