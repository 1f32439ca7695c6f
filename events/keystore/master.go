package keystore

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"

	"github.com/tellyou/tellyou/events/sealing"
)

// master is a master key with its fingerprint, the id stored beside every
// data key it wraps.
type master struct {
	id  string
	box *sealing.Box
}

func newMaster(key []byte) (*master, error) {
	box, err := sealing.NewBox(key)
	if err != nil {
		return nil, fmt.Errorf("master key: %w", err)
	}
	return &master{id: MasterID(key), box: box}, nil
}

// MasterID is the fingerprint of a master key stored beside the data keys it
// wraps: the first 8 bytes of a SHA-256 of the key, in hex. It names the key
// without revealing it.
func MasterID(key []byte) string {
	h := sha256.Sum256(append([]byte("tellyou master key id\x00"), key...))
	return hex.EncodeToString(h[:8])
}

// wrapAAD binds a wrapped data key to its row, so a wrapped key copied to
// another row (another user, session or day) does not unwrap.
func wrapAAD(keyID, userID, sessionID, day string) []byte {
	var out []byte
	for _, f := range [...]string{keyID, userID, sessionID, day} {
		out = binary.AppendUvarint(out, uint64(len(f)))
		out = append(out, f...)
	}
	return out
}

func (m *master) wrap(key []byte, aad []byte) ([]byte, error) {
	nonce, ct, err := m.box.Seal(key, aad)
	if err != nil {
		return nil, fmt.Errorf("wrap data key: %w", err)
	}
	return append(nonce, ct...), nil
}

func (m *master) unwrap(wrapped []byte, aad []byte) ([]byte, error) {
	if len(wrapped) < sealing.NonceSize {
		return nil, fmt.Errorf("unwrap data key: %w", sealing.ErrForged)
	}
	key, err := m.box.Open(wrapped[:sealing.NonceSize], wrapped[sealing.NonceSize:], aad)
	if err != nil {
		return nil, fmt.Errorf("unwrap data key: %w", err)
	}
	return key, nil
}
