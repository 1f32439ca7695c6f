package ws

import (
	"github.com/coder/websocket"

	"github.com/tellyou/tellyou/handlers/delivery"
)

// Enqueue queues a frame for the writer without blocking, starting a writer
// goroutine when none runs. Frames are written in the order Enqueue accepted
// them. It implements delivery.Outbox.
//
// A frame that would take the bytes waiting for the connection (see Queued)
// past Limits.MaxQueueBytes is refused and closes the connection with 1013,
// unless nothing waits: a single frame larger than the limit goes out alone.
// The bound is in bytes, not frames, so that a burst of small frames costs
// what it weighs, and how fast the client reads only matters through the
// stall timeout (see writeQueued).
func (c *conn) Enqueue(frame []byte) bool {
	c.mu.Lock()
	if c.closing {
		c.mu.Unlock()
		return false
	}
	if waiting := c.queue.bytes + c.running; waiting > 0 && waiting+len(frame) > c.h.cfg.Limits.MaxQueueBytes {
		first := c.requestCloseLocked(websocket.StatusTryAgainLater, false)
		c.mu.Unlock()
		if first {
			c.slowClosed("queued bytes over the limit", waiting)
		}
		return false
	}
	c.queue.push(frame)
	c.startWriterLocked()
	c.mu.Unlock()
	return true
}

// Queued returns the bytes of the frames waiting to be written to the
// connection: queued, or taken by the writer and not yet all on the socket.
// It implements delivery.Outbox.
func (c *conn) Queued() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.queue.bytes + c.running
}

var _ delivery.Outbox = (*conn)(nil)

// slowClosed counts and logs a connection closed as too slow.
func (c *conn) slowClosed(why string, queuedBytes int) {
	c.h.cfg.Metrics.SlowClientsClosed.Inc()
	c.h.cfg.Logger.Info("closing a slow websocket client", "user", c.user.UserID, "conn_id", c.id,
		"why", why, "queued_bytes", queuedBytes)
}

// requestClose asks the writer to close the connection with code (and its
// reason, see closeReason); only the first
// request counts, and it reports whether this call was the first. With flush
// the writer first writes what is queued; without, what is queued is
// dropped and a write in progress stops, so that the close frame follows at
// once the bytes already given to the socket.
func (c *conn) requestClose(code websocket.StatusCode, flush bool) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.requestCloseLocked(code, flush)
}

// requestCloseLocked is requestClose with c.mu held.
func (c *conn) requestCloseLocked(code websocket.StatusCode, flush bool) bool {
	if c.closing {
		return false
	}
	c.closing = true
	c.code, c.flush = code, flush
	if !flush {
		c.queue = frameQueue{}
		c.sock.out.interrupt()
	}
	c.startWriterLocked()
	return true
}

func (c *conn) isClosing() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closing
}

// startWriterLocked starts a writer unless one is running (or has closed the
// connection). c.mu is held.
func (c *conn) startWriterLocked() {
	if c.writing || !c.upgraded {
		return
	}
	c.writing = true
	c.tasks.Go(c.writeQueued)
}
