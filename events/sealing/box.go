// Package sealing encrypts message content for the event log and opens it
// again. Content is sealed with AES-256-GCM under a data key that a key
// source (events/keystore) hands out per (sender, session, UTC day); the
// event's identity is bound to the ciphertext as additional authenticated
// data, so sealed content cannot be moved to another event unnoticed.
package sealing

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
)

// KeySize is the size of a data key in bytes (AES-256).
const KeySize = 32

// NonceSize is the size of a GCM nonce in bytes.
const NonceSize = 12

// ErrForged is returned when sealed content fails authentication: the
// ciphertext, its nonce or the event it claims to belong to were changed, or
// the key is not the one it was sealed with.
var ErrForged = errors.New("sealed content failed authentication")

// Box seals and opens content under one key. It is safe for concurrent use.
type Box struct {
	aead cipher.AEAD
}

// NewBox returns a box for a KeySize-byte key.
func NewBox(key []byte) (*Box, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("sealing key: %d bytes, want %d", len(key), KeySize)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("sealing key: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("sealing key: %w", err)
	}
	return &Box{aead: aead}, nil
}

// Seal encrypts plain with a fresh random nonce, authenticating aad with it.
func (b *Box) Seal(plain, aad []byte) (nonce, ciphertext []byte, err error) {
	nonce = make([]byte, NonceSize)
	if _, err := rand.Read(nonce); err != nil {
		return nil, nil, fmt.Errorf("seal: nonce: %w", err)
	}
	return nonce, b.aead.Seal(nil, nonce, plain, aad), nil
}

// Open decrypts ciphertext sealed with nonce and aad, or returns ErrForged.
func (b *Box) Open(nonce, ciphertext, aad []byte) ([]byte, error) {
	if len(nonce) != NonceSize {
		return nil, fmt.Errorf("%w: nonce of %d bytes", ErrForged, len(nonce))
	}
	plain, err := b.aead.Open(nil, nonce, ciphertext, aad)
	if err != nil {
		return nil, ErrForged
	}
	return plain, nil
}

// AAD is the additional authenticated data binding sealed content to its
// event: each field is prefixed by its length (uvarint), so no field's bytes
// can be shifted into its neighbour ("ab","c" and "a","bc" differ).
func AAD(sessionID, messageID, eventType string) []byte {
	out := make([]byte, 0, len(sessionID)+len(messageID)+len(eventType)+3*binary.MaxVarintLen64)
	for _, f := range [...]string{sessionID, messageID, eventType} {
		out = binary.AppendUvarint(out, uint64(len(f)))
		out = append(out, f...)
	}
	return out
}
