package ws

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/coder/websocket"
	"golang.org/x/time/rate"

	"github.com/tellyou/tellyou/handlers/command"
	"github.com/tellyou/tellyou/handlers/delivery"
	"github.com/tellyou/tellyou/handlers/transport/auth"
)

// Close reasons.
const (
	closeSlow     = "too slow: reconnect and sync"
	closeExpired  = "token expired"
	closeShutdown = "server shutting down"
)

// closeReason is the reason the server gives with each close code it uses.
func closeReason(code websocket.StatusCode) string {
	switch code {
	case websocket.StatusTryAgainLater:
		return closeSlow
	case websocket.StatusPolicyViolation:
		return closeExpired
	case websocket.StatusGoingAway:
		return closeShutdown
	}
	return ""
}

// conn is one client connection. It reads and handles its frames one at a
// time, each on a goroutine of its own (see readNext); everything else runs
// only while there is work: a writer while frames are queued or a close is
// due, a ping while one is in flight (see pingSchedule). An idle connection
// is parked with the handler's idlePoller, and holds no goroutine at all.
type conn struct {
	h    *Handler
	ws   *websocket.Conn
	sock *socket
	// id names the connection in logs and prefixes the correlation ids of
	// its frames.
	id     string
	user   auth.Principal
	client *delivery.Client
	// sends limits the user's sends (shared by the user's connections),
	// frames this connection's other frames (made at the first, and only
	// touched by the reader).
	sends  *rate.Limiter
	frames *rate.Limiter

	// framesRead counts the client's frames; only the reader (one goroutine
	// after the other) touches it.
	framesRead uint64

	// tasks counts the connection's writer and ping goroutines; each starts
	// under mu while closing is false, and finish waits for them after
	// setting it.
	tasks sync.WaitGroup
	// pingEntry is the connection's place in the handler's ping schedule.
	pingEntry pingEntry

	mu sync.Mutex
	// queue holds the frames waiting for the writer, and running the bytes
	// of those the writer has taken and not yet written; writing is set
	// while a writer goroutine runs, and stays set once one has closed the
	// connection, so that no other starts.
	queue   frameQueue
	running int
	writing bool
	// upgraded is set once the connection is upgraded: before that, frames
	// the hub hands it wait in the queue, and no writer starts.
	upgraded bool
	// closing is set by the first close request (or a failed write), which
	// sets code and flush for the writer.
	closing  bool
	code     websocket.StatusCode
	flush    bool
	busy     bool // a frame is being handled
	draining bool // Shutdown asked to close after the frame being handled
	// inflight counts the pipelined frames started and not yet answered
	// (see pipeline.go); Shutdown's close waits for them too.
	inflight int

	// answers keeps the answers in the order of the frames.
	answers answerLine
	// window bounds the pipelined frames in flight; started counts them for
	// the reader; gate is the connection's line for admission; ctx, ended
	// by finish, is the parent of their contexts. All are made at the first
	// pipelined frame, and only the reader touches them (but started's Done).
	window chan struct{}
	// windowFull is when the reader found the window full and no place has
	// come free since (zero: not full); see takeWindow.
	windowFull time.Time
	started    sync.WaitGroup
	gate       *command.Gate
	ctx        context.Context
	cancel     context.CancelFunc
	// hold keeps the sends in the client's order across overload refusals;
	// it has a lock of its own.
	hold resendHold
	// expiry closes the connection when the token expires; it is armed
	// only once the expiry is near (see watchExpiryLocked).
	expiry *time.Timer
}

// newConn returns a connection not yet upgraded, registered with the hub:
// the hub may hand it frames at once, and they wait in its queue until
// upgraded is called. Registering before the upgrade's answer reaches the
// client means a client that has seen its connection open gets a push of
// every message committed after that.
func newConn(h *Handler, p auth.Principal, sends *rate.Limiter) *conn {
	c := &conn{h: h, id: newConnID(), user: p, sends: sends}
	c.client = h.cfg.Hub.Register(p.UserID, c)
	return c
}

// upgrade gives the connection its upgraded WebSocket and socket and starts
// a writer for the frames that came while it upgraded.
func (c *conn) upgrade(wsc *websocket.Conn, sock *socket) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ws, c.sock = wsc, sock
	sock.conn = c
	c.upgraded = true
	if c.queue.bytes > 0 || c.closing {
		c.startWriterLocked()
	}
}

// open registers the connection with the ping schedule and the token's
// expiry. It runs on the upgrading goroutine, before readNext.
func (c *conn) open() {
	c.h.cfg.Metrics.ConnectedClients.Inc()
	c.mu.Lock()
	c.watchExpiryLocked()
	c.mu.Unlock()
	c.h.pings.add(c)
}

// watchExpiryLocked arms the timer that closes the connection with 1008 when
// its token expires, once the expiry comes before the next look: every ping
// looks again (see ping), and pings come at most PingInterval+PingTimeout
// apart. A connection whose token has hours to go holds no timer. c.mu is
// held.
func (c *conn) watchExpiryLocked() {
	if c.expiry != nil || c.closing {
		return
	}
	l := c.h.cfg.Limits
	left := c.user.ExpiresAt.Sub(c.h.cfg.Now())
	if left > l.PingInterval+l.PingTimeout {
		return
	}
	c.expiry = time.AfterFunc(left, func() { c.requestClose(websocket.StatusPolicyViolation, false) })
}

// readNext reads the connection's next frame and handles it, then hands the
// connection to a new goroutine for the frame after. When no byte of a next
// frame has arrived the read returns at once (errParked) and the connection
// is parked: the goroutine ends, and the idle poller starts a new one when
// bytes arrive or the connection closes. Control frames (pings, pongs) are
// answered on the way, as the library reads them. A goroutine's stack grows
// to what the deepest call on it needed and the runtime shrinks it back only
// while it is less than a quarter used, so a reader that handled frames
// itself would keep a stack twice or four times the size it needs to wait for
// the next one. Frames are still read and handled one at a time, in the order
// they arrive. Once the connection closes (the peer left, it broke, or
// Shutdown drained it), readNext finishes it.
func (c *conn) readNext() {
	for {
		typ, data, err := c.ws.Read(context.Background())
		if errors.Is(err, errParked) {
			if c.h.idle.park(c.sock) {
				return
			}
			// Closed meanwhile, or the poller failed: read on, blocking.
			c.sock.stopParking()
			continue
		}
		if errors.Is(err, errStalled) {
			// A pong or close the library wrote for the client found its
			// socket stalled: as slow as a stalled push.
			c.stalled()
		}
		if err == nil {
			arrived := time.Now()
			if c.begin() {
				c.handleFrame(typ, data, arrived)
				if c.end() {
					go c.readNext()
					return
				}
			}
		}
		break
	}
	c.finish()
}

// finish makes sure the writer closes the connection, waits for it and any
// ping in flight, and unregisters the connection.
func (c *conn) finish() {
	c.mu.Lock()
	draining := c.draining
	c.mu.Unlock()
	if draining {
		// Shutdown: the frames in flight are answered, and the last of
		// them asks for the 1001 close.
		c.started.Wait()
	}
	c.requestClose(websocket.StatusNormalClosure, false)
	if c.cancel != nil {
		c.cancel() // the client is gone: pipelined frames not yet appended are not
	}
	c.started.Wait()
	c.tasks.Wait()
	c.mu.Lock()
	if c.expiry != nil {
		c.expiry.Stop()
	}
	c.mu.Unlock()
	c.h.pings.remove(c)
	c.client.Unregister()
	c.h.cfg.Metrics.ConnectedClients.Dec()
	c.h.closed(c)
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
		if c.inflight == 0 {
			c.requestCloseLocked(goingAway, true)
		}
		return false
	}
	return true
}

// drain closes the connection with 1001 once the frame being handled and
// the pipelined frames in flight, if any, are answered.
func (c *conn) drain() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.draining = true
	if !c.busy && c.inflight == 0 {
		c.requestCloseLocked(goingAway, true)
	}
}

// goingAway is the close code of a server that shuts down.
const goingAway = websocket.StatusGoingAway
