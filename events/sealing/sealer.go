package sealing

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"

	"github.com/tellyou/tellyou/events"
)

// ErrKeyShredded is what a KeySource returns for a data key that was deleted
// or never existed. events/keystore returns this very value.
var ErrKeyShredded = errors.New("data key shredded")

// ErrUserErased is what a KeySource returns when asked for a key of an
// erased user. events/keystore returns this very value.
var ErrUserErased = errors.New("user erased")

// KeySource hands out data keys: events/keystore.Store.
type KeySource interface {
	// KeyFor returns the key sealing sender's content in sessionID at time
	// at, creating it when needed; ErrUserErased for an erased sender.
	KeyFor(ctx context.Context, sender, sessionID string, at time.Time) (keyID string, key []byte, err error)
	// Key returns the key keyID, or ErrKeyShredded.
	Key(ctx context.Context, keyID string) ([]byte, error)
}

// Sealer seals the content of MessageSent and MessageEdited payloads before
// they are appended, and opens it when they are read. Other payloads pass
// through unchanged. It is safe for concurrent use.
//
// Every seal and open asks the key source for its key (the keystore answers
// from its cache), so a shredded key is never used again; the sealer only
// keeps the AES-GCM state of recent keys (boxCacheSize of them), which is
// rebuilt when the key source's answer differs.
type Sealer struct {
	keys  KeySource
	boxes *lru.Cache[string, *keyedBox]
}

// keyedBox is a box and the key it was made from.
type keyedBox struct {
	key []byte
	box *Box
}

const boxCacheSize = 1024

// NewSealer returns a sealer taking its keys from keys.
func NewSealer(keys KeySource) (*Sealer, error) {
	if keys == nil {
		return nil, errors.New("sealer: nil key source")
	}
	boxes, err := lru.New[string, *keyedBox](boxCacheSize)
	if err != nil {
		return nil, fmt.Errorf("sealer: %w", err)
	}
	return &Sealer{keys: keys, boxes: boxes}, nil
}

// box returns the box of key keyID, made once per key.
func (s *Sealer) box(keyID string, key []byte) (*Box, error) {
	if kb, ok := s.boxes.Get(keyID); ok && bytes.Equal(kb.key, key) {
		return kb.box, nil
	}
	box, err := NewBox(key)
	if err != nil {
		return nil, err
	}
	s.boxes.Add(keyID, &keyedBox{key: bytes.Clone(key), box: box})
	return box, nil
}

// Seal returns p with its content sealed: Sealed set, Content empty. The key
// is the sender's (the editor's for an edit) for the session and the UTC day
// of the message's server timestamp (the edit's time). Content already sealed
// is left as it is. An erased sender gets an error wrapping ErrUserErased.
func (s *Sealer) Seal(ctx context.Context, p events.Payload) (events.Payload, error) {
	switch e := p.(type) {
	case events.MessageSent:
		if e.Sealed != nil {
			return e, nil
		}
		sealed, err := s.seal(ctx, e.SenderID, e.SessionID, e.MessageID, e.EventType(), e.ServerTimestamp, e.Content)
		if err != nil {
			return nil, err
		}
		if len(e.Ext) > 0 {
			if e.SealedExt, err = s.seal(ctx, e.SenderID, e.SessionID, e.MessageID, extField(e.EventType()), e.ServerTimestamp, string(e.Ext)); err != nil {
				return nil, err
			}
		}
		e.Sealed, e.Content, e.Ext = sealed, "", nil
		return e, nil
	case events.MessageEdited:
		if e.Sealed != nil {
			return e, nil
		}
		sealed, err := s.seal(ctx, e.By, e.SessionID, e.MessageID, e.EventType(), e.EditedAt, e.Content)
		if err != nil {
			return nil, err
		}
		e.Sealed, e.Content = sealed, ""
		return e, nil
	}
	return p, nil
}

// extField is what the additional data names for a message's sealed ext, so
// that its ciphertext cannot pass for the content's, nor the reverse.
func extField(eventType string) string { return eventType + ".ext" }

func (s *Sealer) seal(ctx context.Context, sender, sessionID, messageID, eventType string, atMillis int64, content string) (*events.Sealed, error) {
	keyID, key, err := s.keys.KeyFor(ctx, sender, sessionID, time.UnixMilli(atMillis))
	if err != nil {
		return nil, fmt.Errorf("seal %s %s: %w", eventType, messageID, err)
	}
	box, err := s.box(keyID, key)
	if err != nil {
		return nil, fmt.Errorf("seal %s %s: %w", eventType, messageID, err)
	}
	nonce, ct, err := box.Seal([]byte(content), AAD(sessionID, messageID, eventType))
	if err != nil {
		return nil, fmt.Errorf("seal %s %s: %w", eventType, messageID, err)
	}
	return &events.Sealed{KeyID: keyID, Nonce: nonce, Ciphertext: ct}, nil
}

// Open returns p with sealed content opened: Content filled in and Sealed
// cleared, or Erased set (Content empty) when its key was shredded. Content
// that fails authentication gives an error wrapping ErrForged; a failure to
// reach the keys is returned as it is (it is worth retrying). Payloads
// without sealed content are returned unchanged.
func (s *Sealer) Open(ctx context.Context, p events.Payload) (events.Payload, error) {
	switch e := p.(type) {
	case events.MessageSent:
		if e.Sealed == nil {
			return e, nil
		}
		content, erased, err := s.open(ctx, e.Sealed, e.SessionID, e.MessageID, e.EventType())
		if err != nil {
			return nil, err
		}
		if e.SealedExt != nil && !erased {
			ext, extErased, err := s.open(ctx, e.SealedExt, e.SessionID, e.MessageID, extField(e.EventType()))
			if err != nil {
				return nil, err
			}
			erased = extErased
			if !erased {
				e.Ext = json.RawMessage(ext)
			}
		}
		if erased {
			content, e.Ext = "", nil
		}
		e.Content, e.Erased, e.Sealed, e.SealedExt = content, erased, nil, nil
		return e, nil
	case events.MessageEdited:
		if e.Sealed == nil {
			return e, nil
		}
		content, erased, err := s.open(ctx, e.Sealed, e.SessionID, e.MessageID, e.EventType())
		if err != nil {
			return nil, err
		}
		e.Content, e.Erased, e.Sealed = content, erased, nil
		return e, nil
	}
	return p, nil
}

func (s *Sealer) open(ctx context.Context, sealed *events.Sealed, sessionID, messageID, eventType string) (string, bool, error) {
	key, err := s.keys.Key(ctx, sealed.KeyID)
	if errors.Is(err, ErrKeyShredded) {
		return "", true, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("open %s %s: %w", eventType, messageID, err)
	}
	box, err := s.box(sealed.KeyID, key)
	if err != nil {
		return "", false, fmt.Errorf("open %s %s: %w", eventType, messageID, err)
	}
	plain, err := box.Open(sealed.Nonce, sealed.Ciphertext, AAD(sessionID, messageID, eventType))
	if err != nil {
		return "", false, fmt.Errorf("open %s %s with key %s: %w", eventType, messageID, sealed.KeyID, err)
	}
	return string(plain), false, nil
}
