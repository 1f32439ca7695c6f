package wire_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/tellyou/tellyou/handlers/transport/wire"
	"github.com/tellyou/tellyou/readmodels"
)

// frameSizes are the message contents the frame benchmarks carry.
var frameSizes = []struct {
	name  string
	bytes int
}{{"100B", 100}, {"1KiB", 1 << 10}, {"16KiB", 16 << 10}}

// BenchmarkDecodeSendFrame measures wire.Decode of a send frame, strict
// checks included: the first thing a WebSocket connection does with each
// message a client sends.
func BenchmarkDecodeSendFrame(b *testing.B) {
	for _, size := range frameSizes {
		b.Run(fmt.Sprintf("content=%s", size.name), func(b *testing.B) {
			frame, err := json.Marshal(map[string]any{
				"type": wire.TypeSend, "id": "f-0123456789", "sessionId": "g:0b9a4f4e-8c2d-4c41-9d0e-3f1c2b7a6d55",
				"messageType": 1, "content": strings.Repeat("a", size.bytes), "clientMessageId": "c-0123456789",
				"clientTimestamp": 1700000000000, "ext": map[string]any{"mention": []string{"bob"}},
			})
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(len(frame)))
			b.ReportAllocs()
			for b.Loop() {
				f, werr := wire.Decode(frame)
				if werr != nil {
					b.Fatal(werr)
				}
				if f.Type != wire.TypeSend {
					b.Fatalf("decoded type %q", f.Type)
				}
			}
		})
	}
}

// BenchmarkMarshalMessageFrame measures encoding the message frame the push
// hub sends for each new message (once per message, whatever the number of
// its recipients).
func BenchmarkMarshalMessageFrame(b *testing.B) {
	for _, size := range frameSizes {
		b.Run(fmt.Sprintf("content=%s", size.name), func(b *testing.B) {
			f := wire.MessageFrame{Type: wire.TypeMessage, Message: readmodels.Message{
				MessageID: "0b9a4f4e-8c2d-4c41-9d0e-3f1c2b7a6d55", SessionID: "g:5d0c1e2f-7a6b-4c3d-8e9f-0a1b2c3d4e5f",
				Seq: 42, SenderID: "u-0123456789", MessageType: 1, Content: strings.Repeat("a", size.bytes),
				Ext: json.RawMessage(`{"mention":["bob"]}`), ClientMessageID: "c-0123456789",
				ClientTimestamp: 1700000000000, ServerTimestamp: 1700000000001, AdjustedTimestamp: 1700000000001,
			}}
			b.SetBytes(int64(size.bytes))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := json.Marshal(f); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
