package ws

import (
	"context"

	"github.com/coder/websocket"

	"github.com/tellyou/tellyou/handlers/delivery"
)

// Enqueue queues a frame for the writer without blocking, starting a writer
// goroutine when none runs. A full queue closes the connection with 1013.
// Frames are written in the order Enqueue accepted them. It implements
// delivery.Outbox.
func (c *conn) Enqueue(frame []byte) bool {
	c.mu.Lock()
	if c.closing {
		c.mu.Unlock()
		return false
	}
	if !c.queue.push(frame) {
		queued := c.queue.len()
		first := c.requestCloseLocked(websocket.StatusTryAgainLater, closeSlow, false)
		c.mu.Unlock()
		if first {
			c.h.cfg.Metrics.SlowClientsClosed.Inc()
			c.h.cfg.Logger.Info("closing a slow websocket client", "user", c.user.UserID, "conn_id", c.id, "queued", queued)
		}
		return false
	}
	c.startWriterLocked()
	c.mu.Unlock()
	return true
}

var _ delivery.Outbox = (*conn)(nil)

// Queued returns the bytes of the frames queued and not yet taken by the
// writer. It implements delivery.Outbox.
func (c *conn) Queued() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.queue.bytes()
}

// requestClose asks the writer to close the connection; only the first
// request counts, and it reports whether this call was the first. With flush
// the writer first writes what is queued.
func (c *conn) requestClose(code websocket.StatusCode, reason string, flush bool) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.requestCloseLocked(code, reason, flush)
}

// requestCloseLocked is requestClose with c.mu held.
func (c *conn) requestCloseLocked(code websocket.StatusCode, reason string, flush bool) bool {
	if c.closing {
		return false
	}
	c.closing = true
	c.code, c.reason, c.flush = code, reason, flush
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
	if c.writing {
		return
	}
	c.writing = true
	c.tasks.Go(c.writeQueued)
}

// writeQueued writes queued frames until the queue is empty, and returns; or
// until a close is requested, and closes the connection; or until a write
// fails, and drops it.
func (c *conn) writeQueued() {
	for {
		c.mu.Lock()
		// A requested close goes before anything still queued.
		if c.closing {
			c.mu.Unlock()
			c.close()
			return
		}
		frame, ok := c.queue.pop()
		if !ok {
			c.writing = false
			c.mu.Unlock()
			return
		}
		c.mu.Unlock()
		if err := c.write(frame); err != nil {
			c.h.cfg.Logger.Debug("websocket write failed", "user", c.user.UserID, "conn_id", c.id, "err", err)
			c.mu.Lock()
			c.closing = true
			c.mu.Unlock()
			_ = c.ws.CloseNow()
			return
		}
	}
}

// close writes what is queued when the close request asks for it, then
// closes with the requested code (a close handshake bounded by the library's
// timeouts). No frame is queued once closing is set.
func (c *conn) close() {
	if c.flush {
		for {
			c.mu.Lock()
			frame, ok := c.queue.pop()
			c.mu.Unlock()
			if !ok {
				break
			}
			if err := c.write(frame); err != nil {
				_ = c.ws.CloseNow()
				return
			}
		}
	}
	_ = c.ws.Close(c.code, c.reason)
}

func (c *conn) write(frame []byte) error {
	ctx, cancel := context.WithTimeout(context.Background(), c.h.cfg.Limits.WriteTimeout)
	defer cancel()
	return c.ws.Write(ctx, websocket.MessageText, frame)
}
