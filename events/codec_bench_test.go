package events_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/tellyou/tellyou/events"
)

// benchSizes are the message contents the codec benchmarks encode: a chat
// line, a paragraph, and the size of a large pasted text.
var benchSizes = []struct {
	name  string
	bytes int
}{{"100B", 100}, {"1KiB", 1 << 10}, {"16KiB", 16 << 10}}

// benchMessage is a MessageSent whose content is size bytes of ASCII text.
func benchMessage(size int) events.Envelope {
	return events.Envelope{
		Meta: events.Metadata{EventID: uuid.New(), CorrelationID: "r-0123456789", CausationID: "f-0123456789",
			Actor: "u-0123456789", OccurredAt: 1700000000001},
		Payload: events.MessageSent{SessionID: "g:" + uuid.NewString(), MessageID: uuid.NewString(), Seq: 42,
			SenderID: "u-0123456789", MessageType: 1, Content: strings.Repeat("a", size), ClientMessageID: "c-0123456789",
			ClientTimestamp: 1700000000000, ServerTimestamp: 1700000000001, AdjustedTimestamp: 1700000000001},
	}
}

// BenchmarkEncode measures events.Encode of one MessageSent, as the send
// handler does before each append. SetBytes counts the content.
func BenchmarkEncode(b *testing.B) {
	for _, size := range benchSizes {
		b.Run(fmt.Sprintf("content=%s", size.name), func(b *testing.B) {
			env := benchMessage(size.bytes)
			b.SetBytes(int64(size.bytes))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := events.Encode(env); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkDecode measures events.Decode of one recorded MessageSent, as the
// session state, the projections and every node's push hub do for each event.
func BenchmarkDecode(b *testing.B) {
	for _, size := range benchSizes {
		b.Run(fmt.Sprintf("content=%s", size.name), func(b *testing.B) {
			d, err := events.Encode(benchMessage(size.bytes))
			if err != nil {
				b.Fatal(err)
			}
			rec := events.RecordedEvent{StreamID: "g:bench", Version: 42, Position: 1 << 20, EventID: d.EventID,
				Type: d.Type, Data: d.Data, Metadata: d.Metadata}
			b.SetBytes(int64(size.bytes))
			b.ReportAllocs()
			for b.Loop() {
				env, err := events.Decode(rec)
				if err != nil {
					b.Fatal(err)
				}
				if env.Payload.(events.MessageSent).Seq != 42 {
					b.Fatal("decoded the wrong message")
				}
			}
		})
	}
}
