package ws

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"net"
	"testing"
)

// recordingConn records each write it is given.
type recordingConn struct {
	net.Conn
	writes [][]byte
	fail   error
}

func (c *recordingConn) Write(p []byte) (int, error) {
	if c.fail != nil {
		return 0, c.fail
	}
	c.writes = append(c.writes, bytes.Clone(p))
	return len(p), nil
}

// encodeFrame builds a final frame of opcode with payload, masked as a
// client's frames are when masked is set.
func encodeFrame(opcode byte, payload []byte, masked bool) []byte {
	f := []byte{0x80 | opcode}
	var maskBit byte
	if masked {
		maskBit = 0x80
	}
	switch n := len(payload); {
	case n <= 125:
		f = append(f, maskBit|byte(n))
	case n <= 0xffff:
		f = append(f, maskBit|126)
		f = binary.BigEndian.AppendUint16(f, uint16(n))
	default:
		f = append(f, maskBit|127)
		f = binary.BigEndian.AppendUint64(f, uint64(n))
	}
	if masked {
		f = append(f, 1, 2, 3, 4) // the key; the payload is left as it is
	}
	return append(f, payload...)
}

func TestFrameWriterWritesEachFrameWhole(t *testing.T) {
	t.Parallel()
	var frames [][]byte
	for _, n := range []int{0, 1, 14, 125, 126, 300, 0xffff, 0x10000, 100_000} {
		payload := bytes.Repeat([]byte{byte(n)}, n)
		frames = append(frames, encodeFrame(0x1, payload, false), encodeFrame(0x9, nil, false), encodeFrame(0x2, payload, true))
	}
	conn := &recordingConn{}
	fw := &frameWriter{conn: conn, pool: newFrameBufferPool()}
	// The library writes through a bufio.Writer this small: a frame reaches
	// the frameWriter in pieces, and sometimes in one direct write.
	bw := bufio.NewWriterSize(fw, writeBufferSize)
	for i, f := range frames {
		// Header and payload are written separately, as the library does.
		head := 2
		if f[1]&0x7f == 126 {
			head = 4
		} else if f[1]&0x7f == 127 {
			head = 10
		}
		if _, err := bw.Write(f[:head]); err != nil {
			t.Fatal(err)
		}
		if _, err := bw.Write(f[head:]); err != nil {
			t.Fatal(err)
		}
		if err := bw.Flush(); err != nil {
			t.Fatal(err)
		}
		if len(conn.writes) != i+1 {
			t.Fatalf("frame %d (%d bytes) took %d writes", i, len(f), len(conn.writes)-i)
		}
		if !bytes.Equal(conn.writes[i], f) {
			t.Fatalf("frame %d written as %d different bytes", i, len(conn.writes[i]))
		}
		if fw.buf != nil {
			t.Fatalf("frame %d: the buffer is held between frames", i)
		}
	}
}

func TestFrameWriterWritesAVeryLargeFrameInParts(t *testing.T) {
	t.Parallel()
	f := encodeFrame(0x2, bytes.Repeat([]byte("z"), 3*maxCollectedFrameBytes), false)
	conn := &recordingConn{}
	fw := &frameWriter{conn: conn, pool: newFrameBufferPool()}
	for rest := f; len(rest) > 0; {
		chunk := rest[:min(4096, len(rest))]
		rest = rest[len(chunk):]
		if _, err := fw.Write(chunk); err != nil {
			t.Fatal(err)
		}
	}
	if len(conn.writes) < 3 {
		t.Fatalf("%d writes for a frame of %d bytes", len(conn.writes), len(f))
	}
	for _, w := range conn.writes {
		if len(w) > maxCollectedFrameBytes+4096 {
			t.Fatalf("a write of %d bytes", len(w))
		}
	}
	if !bytes.Equal(bytes.Join(conn.writes, nil), f) {
		t.Fatal("the parts do not make up the frame")
	}
	if fw.buf != nil {
		t.Fatal("the buffer is held after the frame")
	}
}

func TestFrameWriterReportsConnectionErrors(t *testing.T) {
	t.Parallel()
	broken := errors.New("broken pipe")
	fw := &frameWriter{conn: &recordingConn{fail: broken}, pool: newFrameBufferPool()}
	if _, err := fw.Write(encodeFrame(0x1, []byte("hi"), false)); !errors.Is(err, broken) {
		t.Fatalf("write over a broken connection: %v", err)
	}
	if fw.buf != nil {
		t.Fatal("the buffer is held after a failed write")
	}
	bad := []byte{0x82, 127, 0x80, 0, 0, 0, 0, 0, 0, 1}
	fw = &frameWriter{conn: &recordingConn{}, pool: newFrameBufferPool()}
	if _, err := fw.Write(bad); !errors.Is(err, errFrameHeader) {
		t.Fatalf("write of a header with a 64-bit length over 2^63: %v", err)
	}
}
