package ws

import (
	"errors"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

var (
	// errStalled: the socket accepted no byte for the stall timeout while
	// bytes waited.
	errStalled = errors.New("websocket write stalled: the client took no bytes")
	// errInterrupted: a close was requested while bytes waited; they are
	// kept for the close frame to follow.
	errInterrupted = errors.New("websocket write interrupted by a close")
)

// frameWriter is where the library's (tiny) bufio.Writer writes: it collects
// the bytes of the frames the library produces in a buffer borrowed from a
// pool and puts them on the socket with as few writes as it can, following
// the frame headers (frameScanner) to know where frames end:
//
//   - normally each frame goes out whole, in one write, once complete;
//   - between hold and flush (the connection's writer taking a run of
//     queued frames) complete frames are kept, and flush writes them all at
//     once: one write, one syscall, for many frames;
//   - a control frame (pong, close, ping), whichever goroutine the library
//     writes it from, goes out as soon as it is complete, with whatever is
//     held before it: it never waits for the end of a run;
//   - past maxBufferedBytes what is collected goes out at once, even in the
//     middle of a frame, so that a very large frame is not held whole.
//
// Bytes go out in the order the library wrote them. A write that makes no
// progress (the socket accepts no byte) for stall fails with errStalled;
// interrupt stops a write in progress (errInterrupted) and keeps what was not
// written, for resume and the close frame. An idle connection's frameWriter
// holds no buffer. Its methods are safe for concurrent use.
type frameWriter struct {
	conn  net.Conn
	pool  *sync.Pool
	stall time.Duration
	// interrupted is read by writes in progress, set without mu.
	interrupted atomic.Bool

	mu      sync.Mutex
	buf     *[]byte // nil while nothing waits
	scan    frameScanner
	holding bool
}

// Write takes bytes of the library's frames; it is called by the library,
// one frame at a time. An interrupted write is not an error here: the bytes
// wait for the close that interrupted it.
func (w *frameWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.buf == nil {
		w.buf = w.pool.Get().(*[]byte)
	}
	*w.buf = append(*w.buf, p...)
	controlEnded, err := w.scan.scan(p)
	if err != nil {
		w.release()
		return 0, err
	}
	frameEnd := w.scan.atFrameEnd()
	if !(frameEnd && (controlEnded || !w.holding)) && len(*w.buf) < maxBufferedBytes {
		return len(p), nil
	}
	if err := w.writeOut(); err != nil && !errors.Is(err, errInterrupted) {
		return 0, err
	}
	return len(p), nil
}

// hold keeps complete frames until flush.
func (w *frameWriter) hold() {
	w.mu.Lock()
	w.holding = true
	w.mu.Unlock()
}

// flush ends a hold: it writes everything collected, with one write unless
// the socket takes it in parts.
func (w *frameWriter) flush() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.holding = false
	if w.buf == nil {
		return nil
	}
	return w.writeOut()
}

// drop ends a hold without writing: what is collected is dropped. For a
// connection whose writes failed.
func (w *frameWriter) drop() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.holding = false
	w.release()
}

// interrupt makes a write in progress, and every write until resume, stop
// with errInterrupted, keeping the bytes not yet written.
func (w *frameWriter) interrupt() {
	w.interrupted.Store(true)
	_ = w.conn.SetWriteDeadline(time.Now()) // wakes a write blocked now
}

// resume lets writes go on after interrupt.
func (w *frameWriter) resume() { w.interrupted.Store(false) }

// writeOut writes what has been collected. The socket's write deadline
// comes a quarter of the stall timeout ahead, again and again while the
// socket takes bytes; a write that took nothing for the whole stall timeout
// fails with errStalled. Stalled or interrupted, the bytes not written stay;
// any other failure drops them with the buffer. w.mu is held.
func (w *frameWriter) writeOut() error {
	data := *w.buf
	step := max(w.stall/4, time.Millisecond)
	progress := time.Now()
	var err error
	for len(data) > 0 {
		if w.interrupted.Load() {
			err = errInterrupted
			break
		}
		if err = w.conn.SetWriteDeadline(time.Now().Add(step)); err != nil {
			break
		}
		// Checked again: an interrupt that came before the deadline was
		// set has been overridden by it.
		if w.interrupted.Load() {
			err = errInterrupted
			break
		}
		var n int
		n, err = w.conn.Write(data)
		data = data[n:]
		if err == nil || !errors.Is(err, os.ErrDeadlineExceeded) {
			break
		}
		now := time.Now()
		if n > 0 {
			progress = now
		}
		if now.Sub(progress) >= w.stall {
			err = errStalled
			break
		}
		err = nil
	}
	if len(data) == 0 || (err != nil && !errors.Is(err, errStalled) && !errors.Is(err, errInterrupted)) {
		w.release()
		return err
	}
	*w.buf = (*w.buf)[:copy(*w.buf, data)]
	return err
}

// release gives the buffer back to the pool; the bytes in it are dropped.
func (w *frameWriter) release() {
	if w.buf == nil {
		return
	}
	if cap(*w.buf) <= maxPooledBufferBytes {
		*w.buf = (*w.buf)[:0]
		w.pool.Put(w.buf)
	}
	w.buf = nil
}
