package sealing_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/tellyou/tellyou/events"
	"github.com/tellyou/tellyou/events/sealing"
)

// fixedKeys hands out one key, as the keystore's cache does once warm: the
// benchmark measures sealing itself, not the database.
type fixedKeys struct{ key []byte }

func (f fixedKeys) KeyFor(context.Context, string, string, time.Time) (string, []byte, error) {
	return "5f0c1a52-8f7e-4f7a-9a3e-6b2d8e1c4a10", f.key, nil
}

func (f fixedKeys) Key(context.Context, string) ([]byte, error) { return f.key, nil }

// BenchmarkSealer seals and opens a MessageSent of 100 bytes and of 4 KiB.
//
//	go test -run '^$' -bench BenchmarkSealer -benchmem ./events/sealing/
func BenchmarkSealer(b *testing.B) {
	s, err := sealing.NewSealer(fixedKeys{key: testKey(9)})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	for _, size := range []int{100, 4096} {
		msg := events.MessageSent{SessionID: "d:ann:bob", MessageID: "0b8d6f0e-5d1c-4c1e-9f62-3c5d0c2a8e11", SenderID: "ann",
			Content: strings.Repeat("x", size), ServerTimestamp: 1764158400012}
		b.Run("seal/"+itoa(size), func(b *testing.B) {
			b.SetBytes(int64(size))
			for b.Loop() {
				if _, err := s.Seal(ctx, msg); err != nil {
					b.Fatal(err)
				}
			}
		})
		sealed, err := s.Seal(ctx, msg)
		if err != nil {
			b.Fatal(err)
		}
		b.Run("open/"+itoa(size), func(b *testing.B) {
			b.SetBytes(int64(size))
			for b.Loop() {
				if _, err := s.Open(ctx, sealed); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func itoa(n int) string {
	if n == 100 {
		return "100B"
	}
	return "4KiB"
}
