package ws

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
)

// Buffer sizes of an upgraded connection. net/http hands a hijacked
// connection over with 4 KiB read and 4 KiB write buffers, held for the
// connection's life: most of what an idle connection would cost. Instead:
//
//   - reads go through readBufferSize bytes: a frame header and a typical
//     client frame fit, and a larger payload is read straight into the
//     message (bufio reads past its buffer when asked for more);
//   - the library's write buffer is tiny and writes into a frameWriter, which
//     collects each frame in a buffer borrowed from a pool and writes it to
//     the socket in one call once complete, so an idle connection holds no
//     write buffer at all.
const (
	readBufferSize  = 256
	writeBufferSize = 16
	// maxPooledFrameBuffer is the largest buffer a frameWriter gives back to
	// the pool; larger frames get a buffer of their own.
	maxPooledFrameBuffer = 64 << 10
	// maxCollectedFrameBytes bounds what a frameWriter collects of one
	// frame before writing it out in parts.
	maxCollectedFrameBytes = 256 << 10
)

// smallBufferHijacker hands the WebSocket library the connection with
// smaller buffers than net/http's (see readBufferSize).
type smallBufferHijacker struct {
	http.ResponseWriter
	frameBuffers *sync.Pool
}

// Hijack takes the connection over from net/http, keeping any bytes the
// client sent after the upgrade request that net/http has already read.
func (w smallBufferHijacker) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	nc, brw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	if err := brw.Writer.Flush(); err != nil {
		_ = nc.Close()
		return nil, nil, fmt.Errorf("flush the upgrade response: %w", err)
	}
	br := bufio.NewReaderSize(nc, readBufferSize)
	if n := brw.Reader.Buffered(); n > 0 {
		// The library takes over what the reader has buffered: move the
		// bytes into the new reader's buffer.
		early, err := brw.Reader.Peek(n)
		if err == nil {
			br = bufio.NewReaderSize(io.MultiReader(bytes.NewReader(bytes.Clone(early)), nc), max(n, readBufferSize))
			_, err = br.Peek(n)
		}
		if err != nil {
			_ = nc.Close()
			return nil, nil, fmt.Errorf("take over buffered bytes: %w", err)
		}
	}
	fw := &frameWriter{conn: nc, pool: w.frameBuffers}
	return nc, bufio.NewReadWriter(br, bufio.NewWriterSize(fw, writeBufferSize)), nil
}

// Unwrap gives http.ResponseController the wrapped writer.
func (w smallBufferHijacker) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// newFrameBufferPool returns the pool frameWriters borrow buffers from.
func newFrameBufferPool() *sync.Pool {
	return &sync.Pool{New: func() any {
		b := make([]byte, 0, 4<<10)
		return &b
	}}
}

// frameWriter writes the byte stream of WebSocket frames the library produces
// to the connection one whole frame per write: it follows the frame headers
// (RFC 6455 section 5.2) to know where each frame ends, collects the frame in
// a pooled buffer, writes it once complete and gives the buffer back. A frame
// larger than maxCollectedFrameBytes goes out in parts. It is not safe for
// concurrent use; the library writes one frame at a time.
type frameWriter struct {
	conn net.Conn
	pool *sync.Pool
	buf  *[]byte // nil between frames

	// header collects the current frame's header until it is complete;
	// remaining counts its payload bytes still to come.
	header    [14]byte
	headerN   int
	remaining uint64
	inPayload bool
}

// errFrameHeader reports a frame header no WebSocket library writes.
var errFrameHeader = errors.New("websocket frame header: payload length with the most significant bit set")

func (w *frameWriter) Write(p []byte) (int, error) {
	written := len(p)
	if w.buf == nil {
		w.buf = w.pool.Get().(*[]byte)
	}
	*w.buf = append(*w.buf, p...)
	for len(p) > 0 {
		if !w.inPayload {
			n, complete, err := w.readHeader(p)
			if err != nil {
				w.release()
				return 0, err
			}
			p = p[n:]
			if !complete {
				break
			}
			continue
		}
		n := uint64(len(p))
		if n > w.remaining {
			n = w.remaining
		}
		w.remaining -= n
		p = p[n:]
		if w.remaining == 0 {
			w.inPayload = false
		}
	}
	atBoundary := !w.inPayload && w.headerN == 0
	if atBoundary || len(*w.buf) >= maxCollectedFrameBytes {
		if err := w.writeOut(); err != nil {
			return 0, err
		}
		if atBoundary {
			w.release()
		}
	}
	return written, nil
}

// readHeader takes header bytes from p, and reports how many it took and
// whether the header is now complete (a frame without payload is then
// complete too).
func (w *frameWriter) readHeader(p []byte) (int, bool, error) {
	took := 0
	for {
		need := headerLen(w.header[:w.headerN])
		if w.headerN >= need {
			break
		}
		if took == len(p) {
			return took, false, nil
		}
		n := copy(w.header[w.headerN:need], p[took:])
		w.headerN += n
		took += n
	}
	length := uint64(w.header[1] & 0x7f)
	switch length {
	case 126:
		length = uint64(binary.BigEndian.Uint16(w.header[2:4]))
	case 127:
		length = binary.BigEndian.Uint64(w.header[2:10])
		if length>>63 != 0 {
			return took, false, errFrameHeader
		}
	}
	w.headerN, w.remaining, w.inPayload = 0, length, length > 0
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

// writeOut writes what has been collected to the connection.
func (w *frameWriter) writeOut() error {
	_, err := w.conn.Write(*w.buf)
	*w.buf = (*w.buf)[:0]
	if err != nil {
		w.release()
	}
	return err
}

// release gives the buffer back to the pool.
func (w *frameWriter) release() {
	if w.buf == nil {
		return
	}
	if cap(*w.buf) <= maxPooledFrameBuffer {
		*w.buf = (*w.buf)[:0]
		w.pool.Put(w.buf)
	}
	w.buf = nil
}
