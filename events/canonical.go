package events

import (
	"encoding/base64"
	"strconv"
	"unicode/utf8"

	"github.com/google/uuid"
)

// Most of the log is MessageSent (without ext), MessagesReceived and
// MessagesRead, and decoding JSON through reflection is most of the cost of
// reading the log. Decode therefore reads those directly when they are
// exactly in the form Encode writes: keys in the order of the struct, no
// white space, strings without escapes and in valid UTF-8, integers. The
// values read that way are the ones encoding/json would decode (a fuzz test
// holds the two to it). Anything else goes through encoding/json, which is
// the definition of what decodes.

// decodeCanonical reads an event in the form Encode writes, or
// reports false.
func decodeCanonical(ev RecordedEvent) (Envelope, bool) {
	var env Envelope
	m := canonical{b: ev.Metadata}
	var id []byte
	ok := m.key(`{"eventId":`) && m.raw(&id) && m.key(`,"correlationId":`) && m.str(&env.Meta.CorrelationID) &&
		m.key(`,"causationId":`) && m.str(&env.Meta.CausationID) && m.key(`,"actor":`) && m.str(&env.Meta.Actor) &&
		m.key(`,"occurredAt":`) && m.int(&env.Meta.OccurredAt) && m.key(`,"schemaVersion":`) && m.num(&env.Meta.SchemaVersion) &&
		m.end()
	if !ok || env.Meta.SchemaVersion < 1 || env.Meta.SchemaVersion > SchemaVersion {
		return env, false
	}
	var err error
	if env.Meta.EventID, err = uuid.ParseBytes(id); err != nil {
		return env, false
	}
	d := canonical{b: ev.Data}
	switch ev.Type {
	case TypeMessageSent:
		var e MessageSent
		ok = d.key(`{"sessionId":`) && d.str(&e.SessionID) && d.key(`,"messageId":`) && d.str(&e.MessageID) &&
			d.key(`,"seq":`) && d.int(&e.Seq) && d.key(`,"senderId":`) && d.str(&e.SenderID) &&
			d.key(`,"messageType":`) && d.num(&e.MessageType) && d.key(`,"content":`) && d.str(&e.Content) &&
			d.key(`,"clientMessageId":`) && d.str(&e.ClientMessageID) &&
			d.key(`,"clientTimestamp":`) && d.int(&e.ClientTimestamp) && d.key(`,"serverTimestamp":`) && d.int(&e.ServerTimestamp) &&
			d.key(`,"adjustedTimestamp":`) && d.int(&e.AdjustedTimestamp) && d.sealed(&e.Sealed) && d.end()
		env.Payload = e
	case TypeMessagesReceived:
		var e MessagesReceived
		ok = d.key(`{"sessionId":`) && d.str(&e.SessionID) && d.key(`,"userId":`) && d.str(&e.UserID) &&
			d.key(`,"upToSeq":`) && d.int(&e.UpToSeq) && d.end()
		env.Payload = e
	case TypeMessagesRead:
		var e MessagesRead
		ok = d.key(`{"sessionId":`) && d.str(&e.SessionID) && d.key(`,"userId":`) && d.str(&e.UserID) &&
			d.key(`,"upToSeq":`) && d.int(&e.UpToSeq) && d.end()
		env.Payload = e
	default:
		return env, false
	}
	return env, ok && SchemaVersionOf(env.Payload) == env.Meta.SchemaVersion
}

// sealed consumes an optional sealed field as Encode writes it, the key id
// without escapes and the bytes in standard base64, as encoding/json
// decodes them.
func (c *canonical) sealed(out **Sealed) bool {
	if !c.key(`,"sealed":`) {
		return true
	}
	var s Sealed
	if c.key(`{"kid":`) && c.str(&s.KeyID) && c.key(`,"nonce":`) && c.bytes(&s.Nonce) &&
		c.key(`,"ct":`) && c.bytes(&s.Ciphertext) && c.key(`}`) {
		*out = &s
		return true
	}
	return false
}

// bytes consumes a string holding standard base64, decoded as encoding/json
// decodes a []byte.
func (c *canonical) bytes(out *[]byte) bool {
	var raw []byte
	if !c.raw(&raw) {
		return false
	}
	b := make([]byte, base64.StdEncoding.DecodedLen(len(raw)))
	n, err := base64.StdEncoding.Decode(b, raw)
	if err != nil {
		return false
	}
	*out = b[:n]
	return true
}

// canonical reads JSON in the form encoding/json writes, a token at a time,
// declining whatever it is not sure to read as encoding/json reads it.
type canonical struct{ b []byte }

// key consumes s, a literal run of punctuation and a key.
func (c *canonical) key(s string) bool {
	if len(c.b) < len(s) || string(c.b[:len(s)]) != s {
		return false
	}
	c.b = c.b[len(s):]
	return true
}

// raw consumes a string without escapes or control characters and returns
// its bytes.
func (c *canonical) raw(out *[]byte) bool {
	if len(c.b) == 0 || c.b[0] != '"' {
		return false
	}
	for i := 1; i < len(c.b); i++ {
		switch b := c.b[i]; {
		case b == '"':
			*out, c.b = c.b[1:i], c.b[i+1:]
			return true
		case b == '\\' || b < 0x20:
			return false
		}
	}
	return false
}

// str consumes a string without escapes or control characters, in valid
// UTF-8 (encoding/json would replace invalid bytes).
func (c *canonical) str(out *string) bool {
	var b []byte
	if !c.raw(&b) || !utf8.Valid(b) {
		return false
	}
	*out = string(b)
	return true
}

// int consumes an integer written as JSON writes one (no fraction, exponent
// or leading zero) that fits in an int64.
func (c *canonical) int(out *int64) bool {
	i := 0
	if i < len(c.b) && c.b[i] == '-' {
		i++
	}
	start := i
	for i < len(c.b) && c.b[i] >= '0' && c.b[i] <= '9' {
		i++
	}
	if i == start || (c.b[start] == '0' && i > start+1) {
		return false
	}
	n, err := strconv.ParseInt(string(c.b[:i]), 10, 64)
	if err != nil {
		return false
	}
	*out, c.b = n, c.b[i:]
	return true
}

// num is int for an int field.
func (c *canonical) num(out *int) bool {
	var n int64
	if !c.int(&n) || int64(int(n)) != n {
		return false
	}
	*out = int(n)
	return true
}

// end consumes the closing brace, the last byte.
func (c *canonical) end() bool { return len(c.b) == 1 && c.b[0] == '}' }
