package push

import (
	"sync"
	"time"
)

// Outbox is a connection's outgoing queue as the hub sees it.
type Outbox interface {
	// Enqueue hands a frame to the connection's writer without blocking. It
	// returns false when the frame was not queued: the connection is closing,
	// or its queue was full and the connection is being closed for it.
	// Enqueue is called from the hub's goroutines; it must not call back into
	// the hub.
	Enqueue(frame []byte) bool
	// Queued returns the bytes of the frames Enqueue took that are not yet
	// written to the connection: more than zero for a connection that is
	// behind, though it may be reading.
	Queued() int
}

// maxOwnSends bounds the clientMessageIds a Client remembers as in flight.
const maxOwnSends = 1024

// Client is one connection registered with the hub. Its methods are safe for
// concurrent use.
type Client struct {
	hub    *Hub
	userID string
	out    Outbox

	mu sync.Mutex
	// own holds the clientMessageIds this connection is sending, so that the
	// hub does not push a connection its own message (it has its sendAck).
	// Ids leave when the hub sees their MessageSent, when the send fails, or,
	// past maxOwnSends, oldest first.
	own      map[string]struct{}
	ownOrder []string
	pending  redeliveries
}

// UserID returns the user the connection belongs to.
func (c *Client) UserID() string { return c.userID }

// BeginSend tells the hub that this connection is about to send a message with
// this clientMessageId: the hub will not push that message back to it. Call it
// before handing the send to the command handler, whose append may reach the
// hub before the handler returns.
func (c *Client) BeginSend(clientMessageID string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.own[clientMessageID]; ok {
		return
	}
	if len(c.ownOrder) >= maxOwnSends {
		delete(c.own, c.ownOrder[0])
		c.ownOrder = c.ownOrder[1:]
	}
	c.own[clientMessageID] = struct{}{}
	c.ownOrder = append(c.ownOrder, clientMessageID)
}

// ForgetSend withdraws a BeginSend whose send appended nothing (it failed).
func (c *Client) ForgetSend(clientMessageID string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.own, clientMessageID)
}

// takeOwn reports whether this connection sent clientMessageID, forgetting it.
func (c *Client) takeOwn(clientMessageID string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.own[clientMessageID]; !ok {
		return false
	}
	delete(c.own, clientMessageID)
	return true
}

// Unregister removes the connection from the hub: nothing more is pushed to
// it. It is safe to call more than once.
func (c *Client) Unregister() { c.hub.unregister(c) }

// track remembers a pushed message for redelivery.
func (c *Client) track(sessionID string, seq int64, frame []byte, due time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.pending.add(&pendingPush{sessionID: sessionID, seq: seq, frame: frame, due: due}, c.hub.cfg.MaxTracked)
}

// acked stops redelivery of the session's messages up to seq.
func (c *Client) acked(sessionID string, seq int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.pending.acked(sessionID, seq)
}

// due returns the frames to push again at now.
func (c *Client) due(now time.Time) [][]byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.pending.due(now, c.hub.cfg.RedeliveryTimeout, c.hub.cfg.MaxRedeliveries)
}
