package wire_test

import (
	"bytes"
	"encoding/json"
	"testing"
	"unicode/utf8"

	"github.com/tellyou/tellyou/handlers/transport/wire"
)

// maxErrorMessageBytes bounds the message of a refusal: it says what is wrong
// without echoing the frame.
const maxErrorMessageBytes = 256

// FuzzDecode checks Decode's contract on arbitrary input: it never panics nor
// changes its input; a frame it accepts satisfies every invariant the
// handlers rely on without checking again; a frame it refuses gets
// bad_request, and what an error frame echoes of it stays within bounds. The
// seeds, in testdata/fuzz/FuzzDecode, hold every frame type and the nasty
// cases of the bad-input tests.
//
// Bounded run: go test -run '^$' -fuzz '^FuzzDecode$' -fuzztime 10s ./handlers/wire/
func FuzzDecode(f *testing.F) {
	f.Add([]byte(`{"type":"typing","id":"t1","sessionId":"d:ann:bob"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		input := bytes.Clone(data)
		frame, err := wire.Decode(data)
		if !bytes.Equal(data, input) {
			t.Fatalf("Decode changed its input from %q to %q", input, data)
		}
		if err != nil {
			checkRefusal(t, data, frame, err)
			return
		}
		checkAccepted(t, data, frame)
	})
}

func checkRefusal(t *testing.T, data []byte, f wire.ClientFrame, err *wire.Error) {
	t.Helper()
	if err.Code != wire.CodeBadRequest {
		t.Fatalf("Decode(%q) refused with %q, want bad_request", data, err.Code)
	}
	if err.Message == "" || len(err.Message) > maxErrorMessageBytes || !utf8.ValidString(err.Message) {
		t.Fatalf("Decode(%q): error message %q is empty, longer than %d bytes or not UTF-8", data, err.Message, maxErrorMessageBytes)
	}
	// The error frame echoes id and, for a send, clientMessageId.
	if n := utf8.RuneCountInString(f.ID); n > wire.MaxFrameIDLen {
		t.Fatalf("Decode(%q) refused it but echoes an id of %d characters", data, n)
	}
	if n := utf8.RuneCountInString(f.ClientMessageID); f.Type == wire.TypeSend && n > wire.MaxClientMessageIDLen {
		t.Fatalf("Decode(%q) refused a send but echoes a clientMessageId of %d characters", data, n)
	}
	if _, merr := json.Marshal(wire.NewErrorFrame(f, err)); merr != nil {
		t.Fatalf("Decode(%q): error frame cannot be encoded: %v", data, merr)
	}
}

func checkAccepted(t *testing.T, data []byte, f wire.ClientFrame) {
	t.Helper()
	fail := func(what string) {
		t.Helper()
		t.Fatalf("Decode(%q) accepted a frame %s: %+v", data, what, f)
	}
	if !utf8.Valid(data) || !json.Valid(data) {
		fail("that is not valid UTF-8 JSON")
	}
	if utf8.RuneCountInString(f.ID) > wire.MaxFrameIDLen {
		fail("whose id is longer than 64 characters")
	}
	switch f.Type {
	case wire.TypeSend:
		if (f.SessionID == "") == (f.ToUserID == "") {
			fail("without exactly one of sessionId and toUserId")
		}
		if f.ClientMessageID == "" || utf8.RuneCountInString(f.ClientMessageID) > wire.MaxClientMessageIDLen {
			fail("without a clientMessageId of 1-64 characters")
		}
		if f.MessageType == nil || f.Content == nil {
			fail("without messageType or content")
		}
		if f.Ext != nil && (len(f.Ext) == 0 || f.Ext[0] != '{' || f.Ext[len(f.Ext)-1] != '}' || !json.Valid(f.Ext)) {
			fail("whose ext is neither nil nor a JSON object")
		}
	case wire.TypeAck:
		if f.SessionID == "" || f.Seq == nil || *f.Seq < 0 || (f.AckType != "received" && f.AckType != "read") {
			fail("without a session, a seq >= 0 and an ackType")
		}
	case wire.TypeRecall:
		if f.SessionID == "" || f.MessageID == "" {
			fail("without a session and a messageId")
		}
	case wire.TypeSync:
		if f.SessionID == "" || (f.AfterSeq != nil && *f.AfterSeq < 0) ||
			(f.Limit != nil && (*f.Limit < 1 || *f.Limit > wire.MaxSyncLimit)) {
			fail("without a session, or with afterSeq or limit out of range")
		}
	case wire.TypeTyping:
		if f.SessionID == "" {
			fail("without a session")
		}
	default:
		fail("of an unknown type")
	}
}
