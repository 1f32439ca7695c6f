package sealing_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/tellyou/tellyou/events/sealing"
)

func testKey(b byte) []byte { return bytes.Repeat([]byte{b}, sealing.KeySize) }

func TestBoxOpensWhatItSealed(t *testing.T) {
	t.Parallel()
	box, err := sealing.NewBox(testKey(1))
	if err != nil {
		t.Fatal(err)
	}
	aad := sealing.AAD("g:1", "m1", "MessageSent")
	nonce, ct, err := box.Seal([]byte("hello"), aad)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(ct, []byte("hello")) {
		t.Fatalf("ciphertext holds the plain text: %q", ct)
	}
	nonce2, _, _ := box.Seal([]byte("hello"), aad)
	if bytes.Equal(nonce, nonce2) {
		t.Fatal("two seals used the same nonce")
	}
	other, _ := sealing.NewBox(testKey(2))
	flip := func(b []byte, i int) []byte { c := bytes.Clone(b); c[i] ^= 1; return c }
	cases := []struct {
		name      string
		box       *sealing.Box
		nonce, ct []byte
		aad       []byte
		wantErr   bool
	}{
		{"intact", box, nonce, ct, aad, false},
		{"ciphertext flipped", box, nonce, flip(ct, 0), aad, true},
		{"tag flipped", box, nonce, flip(ct, len(ct)-1), aad, true},
		{"ciphertext truncated", box, nonce, ct[:len(ct)-1], aad, true},
		{"nonce flipped", box, flip(nonce, 3), ct, aad, true},
		{"nonce short", box, nonce[:8], ct, aad, true},
		{"other message", box, nonce, ct, sealing.AAD("g:1", "m2", "MessageSent"), true},
		{"other session", box, nonce, ct, sealing.AAD("g:2", "m1", "MessageSent"), true},
		{"other event type", box, nonce, ct, sealing.AAD("g:1", "m1", "MessageEdited"), true},
		{"fields shifted", box, nonce, ct, sealing.AAD("g:1m", "1", "MessageSent"), true},
		{"other key", other, nonce, ct, aad, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := c.box.Open(c.nonce, c.ct, c.aad)
			if c.wantErr {
				if !errors.Is(err, sealing.ErrForged) {
					t.Fatalf("Open = %q, %v; want ErrForged", got, err)
				}
				return
			}
			if err != nil || string(got) != "hello" {
				t.Fatalf("Open = %q, %v", got, err)
			}
		})
	}
}

func TestNewBoxRefusesBadKeys(t *testing.T) {
	t.Parallel()
	for _, n := range []int{0, 16, 31, 33} {
		if _, err := sealing.NewBox(make([]byte, n)); err == nil {
			t.Errorf("NewBox accepted a %d-byte key", n)
		}
	}
}

func TestAADSeparatesFields(t *testing.T) {
	t.Parallel()
	if bytes.Equal(sealing.AAD("ab", "c", "t"), sealing.AAD("a", "bc", "t")) {
		t.Fatal("shifted fields give the same AAD")
	}
}
