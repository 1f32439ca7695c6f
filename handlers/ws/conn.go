package ws

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
	"golang.org/x/time/rate"

	"github.com/tellyou/tellyou/handlers/auth"
	"github.com/tellyou/tellyou/handlers/push"
)

// Close reasons.
const (
	closeSlow     = "too slow: reconnect and sync"
	closeExpired  = "token expired"
	closeShutdown = "server shutting down"
)

// conn is one client connection: the reader runs on the ServeHTTP goroutine,
// the writer on a goroutine serve owns.
type conn struct {
	h  *Handler
	ws *websocket.Conn
	// id names the connection in logs and prefixes the correlation ids of
	// its frames.
	id     string
	user   auth.Principal
	client *push.Client
	// sends limits the user's sends (shared by the user's connections),
	// frames this connection's other frames.
	sends  *rate.Limiter
	frames *rate.Limiter

	// out is the bounded outgoing queue; it is never closed, the writer stops
	// on stop instead.
	out chan []byte
	// stop is closed by the first close request, whose code, reason and
	// flush the writer then reads.
	stop      chan struct{}
	closing   atomic.Bool
	closeOnce sync.Once
	code      websocket.StatusCode
	reason    string
	flush     bool

	// ctx ends when the writer has closed the connection.
	ctx    context.Context
	cancel context.CancelFunc

	// framesRead counts the client's frames; only the reader touches it.
	framesRead uint64

	mu       sync.Mutex
	busy     bool // a frame is being handled
	draining bool // Shutdown asked to close after the frame being handled
}

func newConn(h *Handler, wsc *websocket.Conn, p auth.Principal, sends *rate.Limiter) *conn {
	ctx, cancel := context.WithCancel(context.Background())
	l := h.cfg.Limits
	return &conn{h: h, ws: wsc, id: newConnID(), user: p, sends: sends, frames: rate.NewLimiter(rate.Limit(l.FrameRate), l.FrameBurst),
		out: make(chan []byte, l.QueueSize), stop: make(chan struct{}), ctx: ctx, cancel: cancel}
}

// serve runs the connection until it closes.
func (c *conn) serve() {
	m := c.h.cfg.Metrics
	m.ConnectedClients.Inc()
	defer m.ConnectedClients.Dec()
	c.client = c.h.cfg.Hub.Register(c.user.UserID, c)
	defer c.client.Unregister()

	var wg sync.WaitGroup
	wg.Go(c.writeLoop)
	wg.Go(c.pingLoop)
	c.readLoop()
	// The peer left or the connection broke; make sure the writer ends.
	c.requestClose(websocket.StatusNormalClosure, "", false)
	wg.Wait()
}

// pingLoop pings the client every PingInterval and drops a connection whose
// pong does not come back within PingTimeout: the peer is gone (a half-open
// TCP connection) or stopped reading. The reader answers pongs, so a frame
// being handled can delay one by up to HandleTimeout; PingTimeout allows for
// that.
func (c *conn) pingLoop() {
	l := c.h.cfg.Limits
	t := time.NewTicker(l.PingInterval)
	defer t.Stop()
	for {
		select {
		case <-c.ctx.Done():
			return
		case <-c.stop:
			return
		case <-t.C:
			ctx, cancel := context.WithTimeout(c.ctx, l.PingTimeout)
			err := c.ws.Ping(ctx)
			cancel()
			if err != nil {
				if c.ctx.Err() == nil {
					c.h.cfg.Logger.Info("dropping a websocket client that did not answer a ping", "user", c.user.UserID, "conn_id", c.id, "err", err)
				}
				_ = c.ws.CloseNow()
				return
			}
		}
	}
}

// readLoop handles the client's frames one at a time until the connection
// closes or Shutdown drains it.
func (c *conn) readLoop() {
	for {
		typ, data, err := c.ws.Read(c.ctx)
		if err != nil {
			return
		}
		arrived := time.Now()
		if !c.begin() {
			return
		}
		c.handleFrame(typ, data, arrived)
		if !c.end() {
			return
		}
	}
}

// begin marks a frame as being handled; false once Shutdown drains the
// connection, whose close is then already requested.
func (c *conn) begin() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.draining {
		return false
	}
	c.busy = true
	return true
}

// end marks the frame handled; false when Shutdown came meanwhile, and then
// requests the close it deferred.
func (c *conn) end() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.busy = false
	if c.draining {
		c.requestClose(websocket.StatusGoingAway, closeShutdown, true)
		return false
	}
	return true
}

// drain closes the connection with 1001 once the frame being handled, if any,
// is answered.
func (c *conn) drain() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.draining = true
	if !c.busy {
		c.requestClose(websocket.StatusGoingAway, closeShutdown, true)
	}
}

// Enqueue queues a frame for the writer without blocking. A full queue closes
// the connection with 1013. It implements push.Outbox.
func (c *conn) Enqueue(frame []byte) bool {
	if c.closing.Load() {
		return false
	}
	select {
	case c.out <- frame:
		return true
	default:
		if c.requestClose(websocket.StatusTryAgainLater, closeSlow, false) {
			c.h.cfg.Metrics.SlowClientsClosed.Inc()
			c.h.cfg.Logger.Info("closing a slow websocket client", "user", c.user.UserID, "conn_id", c.id, "queued", len(c.out))
		}
		return false
	}
}

var _ push.Outbox = (*conn)(nil)

// requestClose asks the writer to close the connection; only the first
// request counts, and it reports whether this call was the first. With flush
// the writer first writes what is queued.
func (c *conn) requestClose(code websocket.StatusCode, reason string, flush bool) bool {
	first := false
	c.closeOnce.Do(func() {
		first = true
		c.code, c.reason, c.flush = code, reason, flush
		c.closing.Store(true)
		close(c.stop)
	})
	return first
}

// writeLoop writes queued frames until a close is requested, the token
// expires or a write fails, and then closes the connection.
func (c *conn) writeLoop() {
	defer c.cancel()
	expiry := time.NewTimer(c.user.ExpiresAt.Sub(c.h.cfg.Now()))
	defer expiry.Stop()
	for {
		// A requested close goes before anything still queued.
		select {
		case <-c.stop:
			c.close()
			return
		default:
		}
		select {
		case <-c.stop:
			c.close()
			return
		case <-expiry.C:
			c.requestClose(websocket.StatusPolicyViolation, closeExpired, false)
		case frame := <-c.out:
			if err := c.write(frame); err != nil {
				c.h.cfg.Logger.Debug("websocket write failed", "user", c.user.UserID, "conn_id", c.id, "err", err)
				_ = c.ws.CloseNow()
				return
			}
		}
	}
}

// close writes what is queued when the close request asks for it, then
// closes with the requested code (a close handshake bounded by the library's
// timeouts).
func (c *conn) close() {
	if c.flush {
		for range len(c.out) {
			if err := c.write(<-c.out); err != nil {
				_ = c.ws.CloseNow()
				return
			}
		}
	}
	_ = c.ws.Close(c.code, c.reason)
}

func (c *conn) write(frame []byte) error {
	ctx, cancel := context.WithTimeout(c.ctx, c.h.cfg.Limits.WriteTimeout)
	defer cancel()
	return c.ws.Write(ctx, websocket.MessageText, frame)
}
