package ws

import (
	"encoding/binary"
	"errors"
)

// frameScanner follows a stream of WebSocket frames (RFC 6455 section 5.2) as
// it passes in pieces of any size, to know where each frame, and each
// message, ends. It reads the headers only; payloads pass uncopied. The
// socket runs one over the bytes it reads (to know when the library waits for
// a new message) and one over the bytes it writes (to know where frames end).
type frameScanner struct {
	// header collects the current frame's header until it is complete;
	// remaining counts its payload bytes still to come.
	header    [14]byte
	headerN   int
	remaining uint64
	inPayload bool
	// control is set while the current frame is a control frame (ping,
	// pong, close); fragmented between the first frame of a fragmented data
	// message and its final frame (control frames may come in between).
	control    bool
	fragmented bool
}

// errFrameHeader reports a frame header no WebSocket library writes.
var errFrameHeader = errors.New("websocket frame header: payload length with the most significant bit set")

// scan takes the next bytes of the stream and reports whether a control
// frame ended among them.
func (s *frameScanner) scan(p []byte) (controlEnded bool, err error) {
	for len(p) > 0 {
		if !s.inPayload {
			n, complete, err := s.readHeader(p)
			if err != nil {
				return controlEnded, err
			}
			p = p[n:]
			if !complete {
				break
			}
			if !s.inPayload {
				controlEnded = s.frameEnded() || controlEnded
			}
			continue
		}
		n := min(uint64(len(p)), s.remaining)
		s.remaining -= n
		p = p[n:]
		if s.remaining == 0 {
			s.inPayload = false
			controlEnded = s.frameEnded() || controlEnded
		}
	}
	return controlEnded, nil
}

// atFrameEnd reports whether the bytes scanned end with a whole frame.
func (s *frameScanner) atFrameEnd() bool { return !s.inPayload && s.headerN == 0 }

// atMessageEnd reports whether the bytes scanned end with a whole message:
// the next byte begins a new message's first frame, or a control frame.
func (s *frameScanner) atMessageEnd() bool { return s.atFrameEnd() && !s.fragmented }

// frameEnded records the end of the current frame and reports whether it
// was a control frame.
func (s *frameScanner) frameEnded() bool {
	if s.control {
		return true
	}
	s.fragmented = s.header[0]&0x80 == 0 // FIN clear: more frames follow
	return false
}

// readHeader takes header bytes from p, and reports how many it took and
// whether the header is now complete.
func (s *frameScanner) readHeader(p []byte) (int, bool, error) {
	took := 0
	for {
		need := headerLen(s.header[:s.headerN])
		if s.headerN >= need {
			break
		}
		if took == len(p) {
			return took, false, nil
		}
		n := copy(s.header[s.headerN:need], p[took:])
		s.headerN += n
		took += n
	}
	length := uint64(s.header[1] & 0x7f)
	switch length {
	case 126:
		length = uint64(binary.BigEndian.Uint16(s.header[2:4]))
	case 127:
		length = binary.BigEndian.Uint64(s.header[2:10])
		if length>>63 != 0 {
			return took, false, errFrameHeader
		}
	}
	s.headerN, s.remaining, s.inPayload = 0, length, length > 0
	s.control = s.header[0]&0x08 != 0
	return took, true, nil
}

// headerLen is the length of the frame header that begins with the bytes
// known so far (2 until the second byte is known).
func headerLen(known []byte) int {
	if len(known) < 2 {
		return 2
	}
	n := 2
	switch known[1] & 0x7f {
	case 126:
		n += 2
	case 127:
		n += 8
	}
	if known[1]&0x80 != 0 { // masked: client frames
		n += 4
	}
	return n
}
