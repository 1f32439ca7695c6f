package ws

import (
	"context"
	"sync"
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

// conn is one client connection. It reads and handles its frames one at a
// time, each on a goroutine of its own (see readNext); everything else runs
// only while there is work: a writer while frames are queued or a close is
// due, a ping while one is in flight (see pingSchedule). An idle connection
// is one goroutine blocked in a read, and its state here.
type conn struct {
	h  *Handler
	ws *websocket.Conn
	// out is where the library writes the connection's frames.
	out *frameWriter
	// id names the connection in logs and prefixes the correlation ids of
	// its frames.
	id     string
	user   auth.Principal
	client *push.Client
	// sends limits the user's sends (shared by the user's connections),
	// frames this connection's other frames.
	sends  *rate.Limiter
	frames *rate.Limiter
	// expiry closes the connection when the token expires.
	expiry *time.Timer

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
	// closing is set by the first close request (or a failed write), which
	// sets code, reason and flush for the writer.
	closing  bool
	code     websocket.StatusCode
	reason   string
	flush    bool
	busy     bool // a frame is being handled
	draining bool // Shutdown asked to close after the frame being handled
}

func newConn(h *Handler, wsc *websocket.Conn, out *frameWriter, p auth.Principal, sends *rate.Limiter) *conn {
	l := h.cfg.Limits
	return &conn{h: h, ws: wsc, out: out, id: newConnID(), user: p, sends: sends,
		frames: rate.NewLimiter(rate.Limit(l.FrameRate), l.FrameBurst)}
}

// open registers the connection with the hub, the ping schedule and the
// token's expiry. It runs on the upgrading goroutine, before readNext.
func (c *conn) open() {
	c.h.cfg.Metrics.ConnectedClients.Inc()
	c.client = c.h.cfg.Hub.Register(c.user.UserID, c)
	c.expiry = time.AfterFunc(c.user.ExpiresAt.Sub(c.h.cfg.Now()), func() {
		c.requestClose(websocket.StatusPolicyViolation, closeExpired, false)
	})
	c.h.pings.add(c)
}

// readNext reads the connection's next frame and handles it, then hands the
// connection to a new goroutine for the frame after. A goroutine's stack
// grows to what the deepest call on it needed and the runtime shrinks it back
// only while it is less than a quarter used, so a reader that handled frames
// itself would keep a stack twice or four times the size it needs to wait for
// the next one. Frames are still read and handled one at a time, in the order
// they arrive. Once the connection closes (the peer left, it broke, or
// Shutdown drained it), readNext finishes it.
func (c *conn) readNext() {
	typ, data, err := c.ws.Read(context.Background())
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
	c.finish()
}

// finish makes sure the writer closes the connection, waits for it and any
// ping in flight, and unregisters the connection.
func (c *conn) finish() {
	c.requestClose(websocket.StatusNormalClosure, "", false)
	c.tasks.Wait()
	c.expiry.Stop()
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
		c.requestCloseLocked(websocket.StatusGoingAway, closeShutdown, true)
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
		c.requestCloseLocked(websocket.StatusGoingAway, closeShutdown, true)
	}
}
