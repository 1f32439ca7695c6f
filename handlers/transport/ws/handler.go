package ws

import (
	"context"
	"encoding/json"
	"net/http"
	"sync"

	"github.com/coder/websocket"

	"github.com/tellyou/tellyou/handlers/transport/auth"
	"github.com/tellyou/tellyou/handlers/transport/wire"
)

// Handler serves GET /v1/ws. It is safe for concurrent use.
type Handler struct {
	cfg   Config
	users *userSlots
	// pings pings the open connections.
	pings *pingSchedule
	// frameBuffers lends the connections' writers their buffers.
	frameBuffers *sync.Pool
	// idle holds the parked connections.
	idle *idlePoller

	// base is the parent of every frame's context; it ends only when Shutdown
	// gives up waiting.
	base  context.Context
	abort context.CancelFunc

	mu       sync.Mutex
	shutdown bool
	conns    map[*conn]struct{}
	// wg counts the connections being served, from the ServeHTTP that
	// accepts one until its reader has finished with it.
	wg sync.WaitGroup
}

// New builds the handler.
func New(cfg Config) (*Handler, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	base, abort := context.WithCancel(context.Background())
	return &Handler{
		cfg:          cfg,
		users:        newUserSlots(cfg.Limits),
		pings:        newPingSchedule(cfg.Limits.PingInterval, (*conn).ping),
		frameBuffers: newFrameBufferPool(),
		idle:         newIdlePoller(),
		base:         base,
		abort:        abort,
		conns:        make(map[*conn]struct{}),
	}, nil
}

// ServeHTTP authenticates the request, upgrades it and hands the connection
// to its reader (see conn.readNext), which serves it until it closes;
// ServeHTTP returns once the connection is open, so that net/http's goroutine and the
// request's state do not stay behind for the connection's life. Refusals
// before the upgrade are JSON errors: 405 for a method other than GET, 401 for
// a missing or bad token, 503 once Shutdown has begun, 429 rate_limited when
// the user already holds Limits.MaxConnsPerUser connections to this node.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", http.MethodGet)
		writeHTTPError(w, http.StatusMethodNotAllowed, wire.CodeBadRequest, "open the WebSocket with GET")
		return
	}
	p, err := auth.FromRequest(r, h.cfg.Secret, h.cfg.Now())
	if err != nil {
		writeHTTPError(w, http.StatusUnauthorized, wire.CodeUnauthorized, err.Error())
		return
	}
	if !h.enter() {
		writeHTTPError(w, http.StatusServiceUnavailable, wire.CodeUnavailable, "the server is shutting down; reconnect")
		return
	}
	c, ok := h.open(w, r, p)
	if !ok {
		h.wg.Done()
		return
	}
	go c.readNext()
}

// closed releases what a connection held in the handler once it has
// closed, its goroutines done.
func (h *Handler) closed(c *conn) {
	h.untrack(c)
	h.users.release(c.user.UserID)
	h.wg.Done()
}

// open takes a connection slot for the user, upgrades the request and
// registers the connection; false when the request was refused or the upgrade
// failed (the client has had its answer).
func (h *Handler) open(w http.ResponseWriter, r *http.Request, p auth.Principal) (*conn, bool) {
	sends, ok := h.users.acquire(p.UserID)
	if !ok {
		h.cfg.Metrics.RateLimited.Inc()
		writeHTTPError(w, http.StatusTooManyRequests, wire.CodeRateLimited, "too many connections for this user")
		return nil, false
	}
	c := newConn(h, p, sends)
	var sock *socket
	wsc, err := websocket.Accept(smallBufferHijacker{ResponseWriter: w, h: h, sock: &sock}, r, h.acceptOptions())
	if err != nil {
		c.client.Unregister()
		h.users.release(p.UserID)
		h.cfg.Logger.Debug("websocket upgrade failed", "user", p.UserID, "err", err)
		return nil, false // Accept has answered
	}
	wsc.SetReadLimit(h.cfg.Limits.MaxFrameBytes)
	c.upgrade(wsc, sock)
	if !h.track(c) {
		c.client.Unregister()
		h.users.release(p.UserID)
		sock.stopParking()
		_ = wsc.Close(websocket.StatusGoingAway, closeShutdown)
		return nil, false
	}
	c.open()
	return c, true
}

// acceptOptions are the upgrade's options: see Limits.DisableCompression.
func (h *Handler) acceptOptions() *websocket.AcceptOptions {
	opts := &websocket.AcceptOptions{
		// Tokens, not cookies, authenticate: see the package doc.
		InsecureSkipVerify: true,
		CompressionMode:    websocket.CompressionDisabled,
	}
	if l := h.cfg.Limits; !l.DisableCompression {
		opts.CompressionMode = websocket.CompressionNoContextTakeover
		opts.CompressionThreshold = l.CompressionThreshold
	}
	return opts
}

// enter counts a new connection unless Shutdown has begun.
func (h *Handler) enter() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.shutdown {
		return false
	}
	h.wg.Add(1)
	return true
}

func (h *Handler) track(c *conn) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.shutdown {
		return false
	}
	h.conns[c] = struct{}{}
	return true
}

func (h *Handler) untrack(c *conn) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.conns, c)
}

// Shutdown stops accepting connections (new ones get 503), lets each open
// connection finish the frame it is handling (a send in flight is either
// acked, and durable, or answered with an error), writes what is queued for it,
// closes it with 1001 (StatusGoingAway) and waits for all of them. Frames read
// after Shutdown began are neither handled nor answered: a send without an
// answer appended nothing, and the client retries it, with the same
// clientMessageId, once reconnected. When ctx
// ends first, it cuts the frames being handled short, drops the connections
// and still waits for their goroutines (bounded by Limits.HandleTimeout and the
// close handshake's timeouts), then returns ctx's error.
func (h *Handler) Shutdown(ctx context.Context) error {
	h.mu.Lock()
	h.shutdown = true
	conns := make([]*conn, 0, len(h.conns))
	for c := range h.conns {
		conns = append(conns, c)
	}
	h.mu.Unlock()
	for _, c := range conns {
		c.drain()
	}
	done := make(chan struct{})
	go func() {
		h.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		h.pings.wait()
		h.idle.wait()
		return nil
	case <-ctx.Done():
		h.abort()
		for _, c := range conns {
			_ = c.ws.CloseNow()
		}
		<-done
		h.pings.wait()
		h.idle.wait()
		return ctx.Err()
	}
}

func writeHTTPError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(wire.Error{Code: code, Message: msg})
}
