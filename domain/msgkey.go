package domain

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
)

// msgKey is a 128-bit key of a recent message: the hash of its (sender,
// clientMessageId) pair, or the 16 bytes of its id. Keys are plain bytes, so
// the state's records and indexes hold no pointers for the garbage collector
// to scan.
type msgKey [16]byte

// dedupKeyOf returns the key a send is recognised by when it is repeated: the
// first 128 bits of SHA-256 over the sender's length, the sender and the client
// message id (the length prefix makes the encoding of the pair unambiguous).
//
// Why 128 bits of a cryptographic hash: two pairs with the same key make the
// later send look like a repeat of the earlier one, and it is answered as a
// duplicate instead of being stored, so the key must never collide. By chance
// n keys collide with probability about n²/2¹²⁹, below 10⁻²⁰ even for the
// billion a very busy session could hold in its dedup window; 64 bits would
// leave about 1 in 10⁸ for a million keys, in every session and window. And
// clients choose their clientMessageIds: SHA-256 leaves them no way to make a
// pair collide with another sender's (that takes a 128-bit second preimage),
// where a non-cryptographic hash such as FNV can be collided on purpose.
func dedupKeyOf(sender, clientMessageID string) msgKey {
	// Both fit on the stack as the send rules bound them; longer values (from
	// hand-made events) only cost an allocation.
	var buf [1 + binary.MaxVarintLen64 + maxUserIDLen + 4*maxClientMessageIDLen]byte
	b := append(buf[:0], 'd')
	b = binary.AppendUvarint(b, uint64(len(sender)))
	b = append(b, sender...)
	b = append(b, clientMessageID...)
	sum := sha256.Sum256(b)
	return msgKey(sum[:16])
}

// messageKeyOf returns the key of a message id. A uuid in canonical lower-case
// form, which is what DecideSend accepts and so every message id the handlers
// make, is its own 16 bytes (canonical is true) and can be rendered back from
// them. Any other string, which only hand-made events can carry, is keyed by
// the first 128 bits of its SHA-256; the state keeps such ids' text beside the
// key. The two forms cannot meet by chance (probability 2⁻¹²⁸) nor on purpose
// (a 128-bit preimage).
func messageKeyOf(id string) (k msgKey, canonical bool) {
	if k, ok := parseCanonicalUUID(id); ok {
		return k, true
	}
	sum := sha256.Sum256(append([]byte{'m'}, id...))
	return msgKey(sum[:16]), false
}

// uuidLen is the length of a uuid's canonical text form.
const uuidLen = 36

// parseCanonicalUUID returns the bytes of a uuid in canonical lower-case form
// (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx, lower-case hex, any version), and
// false for any other string. It accepts exactly the strings s for which
// uuid.Parse(s) succeeds and gives back s from String, without allocating.
func parseCanonicalUUID(s string) (msgKey, bool) {
	var k msgKey
	if len(s) != uuidLen || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return k, false
	}
	j := 0
	for i := 0; i < uuidLen; {
		if i == 8 || i == 13 || i == 18 || i == 23 {
			i++
			continue
		}
		hi, ok1 := lowerHex(s[i])
		lo, ok2 := lowerHex(s[i+1])
		if !ok1 || !ok2 {
			return k, false
		}
		k[j] = hi<<4 | lo
		i += 2
		j++
	}
	return k, true
}

func lowerHex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	}
	return 0, false
}

// uuidString renders the key of a canonical uuid back into its text form.
func uuidString(k msgKey) string {
	var buf [uuidLen]byte
	hex.Encode(buf[0:8], k[0:4])
	buf[8] = '-'
	hex.Encode(buf[9:13], k[4:6])
	buf[13] = '-'
	hex.Encode(buf[14:18], k[6:8])
	buf[18] = '-'
	hex.Encode(buf[19:23], k[8:10])
	buf[23] = '-'
	hex.Encode(buf[24:], k[10:])
	return string(buf[:])
}
