package ws

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"net/http"
	"sync"
)

// Buffer sizes of an upgraded connection. net/http hands a hijacked
// connection over with 4 KiB read and 4 KiB write buffers, held for the
// connection's life: most of what an idle connection would cost. Instead:
//
//   - reads go through readBufferSize bytes: a frame header and a short
//     client frame (an ack, typing) fit, and the rest of a larger payload is
//     read straight into the message (bufio reads past its buffer when
//     asked for more), one more read for a send;
//   - the library's write buffer is tiny and writes into a frameWriter, which
//     collects frames in a buffer borrowed from a pool only while they wait
//     to be written, so an idle connection holds no write buffer at all.
const (
	readBufferSize  = 128
	writeBufferSize = 16
	// runBytes is how many bytes of queued frames the connection's writer
	// takes for one write: a run ends once it has this many, or the queue
	// is empty.
	runBytes = 256 << 10
	// maxBufferedBytes bounds what a frameWriter collects before writing it
	// out: above a run, so that a run goes out in one write, and below
	// large frames (a sync answer may take megabytes), which go out in parts.
	maxBufferedBytes = 2 * runBytes
	// maxPooledBufferBytes is the largest buffer a frameWriter gives back to
	// the pool; larger ones are left to the collector.
	maxPooledBufferBytes = maxBufferedBytes + 64<<10
)

// smallBufferHijacker hands the WebSocket library the connection as a socket
// (reads that park, writes collected by a frameWriter) with smaller buffers
// than net/http's, and leaves the socket in *sock for the handler.
type smallBufferHijacker struct {
	http.ResponseWriter
	h    *Handler
	sock **socket
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
	s := newSocket(nc, w.h.frameBuffers, w.h.idle, w.h.cfg.Limits.StallTimeout)
	if n := brw.Reader.Buffered(); n > 0 {
		// The socket serves these first: the library then reads every byte
		// through it.
		early, err := brw.Reader.Peek(n)
		if err != nil {
			_ = nc.Close()
			return nil, nil, fmt.Errorf("take over buffered bytes: %w", err)
		}
		s.early = bytes.Clone(early)
	}
	*w.sock = s
	return s, bufio.NewReadWriter(bufio.NewReaderSize(s, readBufferSize), bufio.NewWriterSize(&s.out, writeBufferSize)), nil
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
