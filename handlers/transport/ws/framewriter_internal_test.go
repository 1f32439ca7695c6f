package ws

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"testing"
	"time"
)

// recordingConn records each write it is given.
type recordingConn struct {
	net.Conn
	writes [][]byte
	fail   error
}

func (c *recordingConn) SetWriteDeadline(time.Time) error { return nil }

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
	fw := &frameWriter{conn: conn, pool: newFrameBufferPool(), stall: time.Second}
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
	f := encodeFrame(0x2, bytes.Repeat([]byte("z"), 3*maxBufferedBytes), false)
	conn := &recordingConn{}
	fw := &frameWriter{conn: conn, pool: newFrameBufferPool(), stall: time.Second}
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
		if len(w) > maxBufferedBytes+4096 {
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
	fw := &frameWriter{conn: &recordingConn{fail: broken}, pool: newFrameBufferPool(), stall: time.Second}
	if _, err := fw.Write(encodeFrame(0x1, []byte("hi"), false)); !errors.Is(err, broken) {
		t.Fatalf("write over a broken connection: %v", err)
	}
	if fw.buf != nil {
		t.Fatal("the buffer is held after a failed write")
	}
	bad := []byte{0x82, 127, 0x80, 0, 0, 0, 0, 0, 0, 1}
	fw = &frameWriter{conn: &recordingConn{}, pool: newFrameBufferPool(), stall: time.Second}
	if _, err := fw.Write(bad); !errors.Is(err, errFrameHeader) {
		t.Fatalf("write of a header with a 64-bit length over 2^63: %v", err)
	}
}

// newTestFrameWriter returns a frameWriter over conn, fed as the library
// feeds it: through a bufio.Writer of writeBufferSize bytes, one flush per
// frame.
func newTestFrameWriter(conn net.Conn, stall time.Duration) (*frameWriter, func(frame []byte) error) {
	fw := &frameWriter{conn: conn, pool: newFrameBufferPool(), stall: stall}
	bw := bufio.NewWriterSize(fw, writeBufferSize)
	return fw, func(frame []byte) error {
		if _, err := bw.Write(frame); err != nil {
			return err
		}
		return bw.Flush()
	}
}

func TestFrameWriterWritesAHeldRunWithOneWrite(t *testing.T) {
	t.Parallel()
	conn := &recordingConn{}
	fw, write := newTestFrameWriter(conn, time.Second)
	var run []byte
	fw.hold()
	for i := range 50 {
		f := encodeFrame(0x1, bytes.Repeat([]byte{byte(i)}, 10*i), false)
		run = append(run, f...)
		if err := write(f); err != nil {
			t.Fatal(err)
		}
	}
	if len(conn.writes) != 0 {
		t.Fatalf("%d writes during the hold", len(conn.writes))
	}
	if err := fw.flush(); err != nil {
		t.Fatal(err)
	}
	if len(conn.writes) != 1 || !bytes.Equal(conn.writes[0], run) {
		t.Fatalf("%d writes for the run; want one of its %d bytes", len(conn.writes), len(run))
	}
	// Out of a hold, frames go out one by one again.
	if err := write(encodeFrame(0x1, []byte("after"), false)); err != nil || len(conn.writes) != 2 {
		t.Fatalf("a frame after the run: %d writes, %v", len(conn.writes), err)
	}
	if fw.buf != nil {
		t.Fatal("the buffer is held between runs")
	}
}

func TestAControlFrameDoesNotWaitForTheRun(t *testing.T) {
	t.Parallel()
	conn := &recordingConn{}
	fw, write := newTestFrameWriter(conn, time.Second)
	d1, d2, pong, d3 := encodeFrame(0x1, []byte("one"), false), encodeFrame(0x1, []byte("two"), false),
		encodeFrame(0xA, []byte("7"), false), encodeFrame(0x1, []byte("three"), false)
	fw.hold()
	for _, f := range [][]byte{d1, d2, pong} {
		if err := write(f); err != nil {
			t.Fatal(err)
		}
	}
	// The pong goes out at once, after what the run held before it.
	if len(conn.writes) != 1 || !bytes.Equal(conn.writes[0], bytes.Join([][]byte{d1, d2, pong}, nil)) {
		t.Fatalf("after a pong in a run: %d writes %q", len(conn.writes), conn.writes)
	}
	if err := write(d3); err != nil {
		t.Fatal(err)
	}
	if err := fw.flush(); err != nil {
		t.Fatal(err)
	}
	if len(conn.writes) != 2 || !bytes.Equal(conn.writes[1], d3) {
		t.Fatalf("the rest of the run: %d writes %q", len(conn.writes), conn.writes)
	}
}

// tcpPair returns both ends of a loopback TCP connection, the client's with
// a small receive buffer, so that a client that does not read soon blocks
// the server's writes.
func tcpPair(t *testing.T) (server, client net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		accepted <- c
	}()
	client, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	if err := client.(*net.TCPConn).SetReadBuffer(64 << 10); err != nil {
		t.Fatal(err)
	}
	server = <-accepted
	if server == nil {
		t.Fatal("accept failed")
	}
	t.Cleanup(func() { _ = server.Close(); _ = client.Close() })
	return server, client
}

// bigRun holds n frames of size bytes each, and returns them as written.
// Past maxBufferedBytes the frameWriter writes out, even while holding.
func bigRun(fw *frameWriter, write func([]byte) error, n, size int) ([]byte, error) {
	var all []byte
	fw.hold()
	for i := range n {
		f := encodeFrame(0x1, bytes.Repeat([]byte{byte('a' + i%26)}, size), false)
		all = append(all, f...)
		if err := write(f); err != nil {
			return all, err
		}
	}
	return all, nil
}

func TestFrameWriterStallsWhenTheSocketTakesNothing(t *testing.T) {
	t.Parallel()
	server, client := tcpPair(t)
	fw, write := newTestFrameWriter(server, 500*time.Millisecond)
	// Far more than the socket buffers between the two ends, in runs.
	var all []byte
	for range 40 {
		run, err := bigRun(fw, write, 16, 16<<10)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, run...)
		if err := fw.flush(); err != nil {
			if !errors.Is(err, errStalled) {
				t.Fatalf("flush to a client that reads nothing: %v", err)
			}
			// What the socket did not take is kept, in order, for the
			// close frame to follow.
			kept := len(*fw.buf)
			got := make([]byte, len(all)-kept)
			if _, err := io.ReadFull(client, got); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, all[:len(got)]) || !bytes.Equal(*fw.buf, all[len(got):]) {
				t.Fatal("the bytes written and kept are not the frames in order")
			}
			return
		}
	}
	t.Fatal("no stall after 10 MiB to a client that reads nothing")
}

func TestFrameWriterDoesNotStallOnASlowSteadyReader(t *testing.T) {
	t.Parallel()
	server, client := tcpPair(t)
	// The reader takes 4 KiB every 2 ms: far slower than the writer, never
	// anywhere near the stall timeout between two reads.
	fw, write := newTestFrameWriter(server, 2*time.Second)
	const runs, frames, size = 16, 16, 16 << 10 // 4 MiB
	want := runs * frames * len(encodeFrame(0x1, make([]byte, size), false))
	got := make(chan []byte, 1)
	go func() {
		var b []byte
		buf := make([]byte, 4<<10)
		for len(b) < want {
			n, err := client.Read(buf)
			if err != nil {
				break
			}
			b = append(b, buf[:n]...)
			time.Sleep(2 * time.Millisecond)
		}
		got <- b
	}()
	var all []byte
	for range runs {
		run, err := bigRun(fw, write, frames, size)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, run...)
		if err := fw.flush(); err != nil {
			t.Fatalf("flush to a slow reader: %v", err)
		}
	}
	if b := <-got; !bytes.Equal(b, all) {
		t.Fatalf("the reader got %d bytes, not the %d written", len(b), len(all))
	}
}

func TestInterruptStopsAWriteAndTheCloseFrameFollowsItsBytes(t *testing.T) {
	t.Parallel()
	server, client := tcpPair(t)
	fw, write := newTestFrameWriter(server, time.Hour)
	type result struct {
		all []byte
		err error
	}
	held := make(chan result, 1)
	go func() {
		// 4 MiB: past maxBufferedBytes it writes out, and blocks.
		all, err := bigRun(fw, write, 256, 16<<10)
		held <- result{all, err}
	}()
	time.Sleep(50 * time.Millisecond) // not needed for the outcome: lets the write block first
	fw.interrupt()
	// Interrupted, the library's writes go on without error: the bytes wait.
	r := <-held
	if r.err != nil {
		t.Fatalf("writes while interrupted: %v", r.err)
	}
	all := r.all
	if err := fw.flush(); !errors.Is(err, errInterrupted) {
		t.Fatalf("interrupted flush: %v", err)
	}
	flushed := make(chan error, 1)
	// A control frame written while interrupted waits, without error.
	closeFrame := encodeFrame(0x8, []byte{0x03, 0xf5}, false)
	if err := write(closeFrame); err != nil {
		t.Fatalf("close frame while interrupted: %v", err)
	}
	all = append(all, closeFrame...)
	// Resumed, the next write puts the rest on the socket, in order.
	go func() {
		fw.resume()
		flushed <- fw.flush()
	}()
	got := make([]byte, len(all))
	if _, err := io.ReadFull(client, got); err != nil {
		t.Fatal(err)
	}
	if err := <-flushed; err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, all) {
		t.Fatal("the frames and the close frame did not arrive in order")
	}
}
