package ws

import (
	"bytes"
	"testing"
)

// frameWithFIN builds a client frame (masked) with FIN as given.
func frameWithFIN(opcode byte, payload []byte, fin bool) []byte {
	f := encodeFrame(opcode, payload, true)
	if !fin {
		f[0] &^= 0x80
	}
	return f
}

func TestFrameScannerFindsMessageEnds(t *testing.T) {
	t.Parallel()
	big := bytes.Repeat([]byte("b"), 70_000)
	type step struct {
		frame      []byte
		control    bool // a control frame ends with it
		messageEnd bool // the stream then ends with a whole message
	}
	steps := []step{
		{frameWithFIN(0x1, []byte(`{"type":"ack"}`), true), false, true},
		{frameWithFIN(0x9, []byte("ping"), true), true, true},
		// A fragmented message, with control frames between its fragments.
		{frameWithFIN(0x1, []byte(`{"type":`), false), false, false},
		{frameWithFIN(0xA, nil, true), true, false},
		{frameWithFIN(0x0, big, false), false, false},
		{frameWithFIN(0x9, []byte("p"), true), true, false},
		{frameWithFIN(0x0, []byte(`"x"}`), true), false, true},
		{frameWithFIN(0x2, nil, true), false, true},
		{frameWithFIN(0x8, []byte{0x03, 0xe8}, true), true, true},
	}
	// Whole frames, then the same stream one byte at a time: the pieces do
	// not matter.
	for _, piece := range []int{0, 1, 7} {
		var s frameScanner
		for i, st := range steps {
			f := st.frame
			var control bool
			for len(f) > 0 {
				n := len(f)
				if piece > 0 {
					n = min(piece, len(f))
				}
				c, err := s.scan(f[:n])
				if err != nil {
					t.Fatalf("piece %d, step %d: %v", piece, i, err)
				}
				control = control || c
				f = f[n:]
				if len(f) > 0 && s.atFrameEnd() {
					t.Fatalf("piece %d, step %d: a frame end in the middle of the frame", piece, i)
				}
			}
			if control != st.control || !s.atFrameEnd() || s.atMessageEnd() != st.messageEnd {
				t.Fatalf("piece %d, step %d: control %v, frame end %v, message end %v; want %v, true, %v",
					piece, i, control, s.atFrameEnd(), s.atMessageEnd(), st.control, st.messageEnd)
			}
		}
	}
}

func TestFrameScannerRefusesA64BitLengthOver2To63(t *testing.T) {
	t.Parallel()
	var s frameScanner
	if _, err := s.scan([]byte{0x82, 127, 0x80, 0, 0, 0, 0, 0, 0, 1}); err != errFrameHeader {
		t.Fatalf("scan of a header with a 64-bit length over 2^63: %v", err)
	}
}
