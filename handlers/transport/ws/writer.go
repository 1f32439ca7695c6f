package ws

import (
	"context"
	"errors"

	"github.com/coder/websocket"
)

// writeQueued is the connection's writer. It writes the queued frames in
// runs (see writeRun) until the queue is empty, and returns; or until a
// close is requested, and closes the connection (Shutdown's close first
// writes what is queued); or until the socket stalls, and closes the
// connection with 1013 as too slow; or until a write fails, and drops it.
//
// A socket stalls when it accepts no byte for Limits.StallTimeout while
// frames wait. A client that reads, however slowly, makes progress and is
// never closed for it: only Limits.MaxQueueBytes bounds what waits for it.
func (c *conn) writeQueued() {
	for {
		c.mu.Lock()
		closing, flush, empty := c.closing, c.flush, c.queue.len() == 0
		if !closing && empty {
			c.writing = false
			c.mu.Unlock()
			return
		}
		c.mu.Unlock()
		if closing && (!flush || empty) {
			c.close()
			return
		}
		err := c.writeRun()
		switch {
		case err == nil, errors.Is(err, errInterrupted):
			// Interrupted: a close was requested; the loop comes to it.
		case errors.Is(err, errStalled):
			c.stalled()
		default:
			c.h.cfg.Logger.Debug("websocket write failed", "user", c.user.UserID, "conn_id", c.id, "err", err)
			c.mu.Lock()
			c.closing = true
			c.mu.Unlock()
			_ = c.ws.CloseNow()
			return
		}
	}
}

// writeRun takes frames from the queue, in order, until it has runBytes of
// them or the queue is empty, and has the library frame them (compressing
// those from the compression threshold up) into the socket's frameWriter,
// which holds them; then it writes them all with one write. Frames queued
// while the run is taken join it.
func (c *conn) writeRun() error {
	out := &c.sock.out
	out.hold()
	var err error
	for taken := 0; taken < runBytes; {
		c.mu.Lock()
		var frame []byte
		ok := false
		if !c.closing || c.flush {
			if frame, ok = c.queue.pop(); ok {
				c.running += len(frame)
			}
		}
		c.mu.Unlock()
		if !ok {
			break
		}
		taken += len(frame)
		if err = c.ws.Write(context.Background(), websocket.MessageText, frame); err != nil {
			break
		}
	}
	if err == nil {
		err = out.flush()
	} else {
		// The library's writer failed (a large frame's write stalled, or
		// the connection closed): nothing more can follow on it.
		out.drop()
	}
	c.mu.Lock()
	c.running = 0
	c.mu.Unlock()
	return err
}

// stalled closes the connection as too slow: nothing more is written but
// the close frame. A close requested earlier (Shutdown's) keeps its code,
// but no longer writes what is queued.
func (c *conn) stalled() {
	c.mu.Lock()
	waiting := c.queue.bytes + c.running
	first := c.requestCloseLocked(websocket.StatusTryAgainLater, false)
	if !first {
		c.flush = false
		c.queue = frameQueue{}
	}
	c.mu.Unlock()
	if first {
		c.slowClosed("stalled: the socket took no bytes", waiting)
	}
}

// close closes the connection with the requested code. The close frame
// follows whatever the socket still holds of frames already taken; the
// library bounds its write, and the wait for the client's close frame, by
// 5 s each, then drops the connection. Reads stop parking: the handshake
// reads the client's close frame.
func (c *conn) close() {
	c.sock.stopParking()
	c.sock.out.resume()
	_ = c.ws.Close(c.code, closeReason(c.code))
}
