package delivery

import (
	"sync"
	"time"
)

// Outbox is a connection's outgoing queue as the hub sees it.
type Outbox interface {
	// Enqueue hands a frame to the connection's writer without blocking. It
	// returns false when the frame was not queued: the connection is closing,
	// or it is being closed for falling too far behind. Enqueue is called
	// from the hub's goroutines; it must not call back into the hub. The
	// frame may be shared with other connections: it must not be changed.
	Enqueue(frame []byte) bool
	// Queued returns the bytes queued and not yet written to the socket: a
	// connection with bytes queued is behind, and is not pushed anything
	// again for want of an ack (it has not read what it was sent yet).
	Queued() int
}

// ConnectionObserver learns when users come and go on this node.
// presence.Tracker implements it. Both methods are called under the hub's
// lock, in the order the connections registered and unregistered: they must
// return at once and must not call back into the hub.
type ConnectionObserver interface {
	// UserConnected: userID had no connection here and now has one.
	UserConnected(userID string)
	// UserDisconnected: userID's last connection here unregistered.
	UserDisconnected(userID string)
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

// due returns the frames to push again at now. While the connection is
// behind (it has frames queued), nothing is due: its pending pushes are put
// off by a whole timeout instead, so that the client has that long to ack
// what it reads once it has caught up.
func (c *Client) due(now time.Time) [][]byte {
	behind := c.out.Queued() > 0
	c.mu.Lock()
	defer c.mu.Unlock()
	if behind {
		c.pending.postpone(now, c.hub.cfg.RedeliveryTimeout)
		return nil
	}
	return c.pending.due(now, c.hub.cfg.RedeliveryTimeout, c.hub.cfg.MaxRedeliveries)
}

// Register adds a connection of userID; pushes for the user's sessions go to
// out from now on. Call Unregister when the connection ends.
func (h *Hub) Register(userID string, out Outbox) *Client {
	c := &Client{hub: h, userID: userID, out: out, own: make(map[string]struct{})}
	h.mu.Lock()
	defer h.mu.Unlock()
	set := h.users[userID]
	if set == nil {
		set = make(map[*Client]struct{})
		h.users[userID] = set
		if h.cfg.Connections != nil {
			h.cfg.Connections.UserConnected(userID)
		}
	}
	set[c] = struct{}{}
	return c
}

func (h *Hub) unregister(c *Client) {
	h.mu.Lock()
	defer h.mu.Unlock()
	set := h.users[c.userID]
	if _, ok := set[c]; !ok {
		return
	}
	delete(set, c)
	if len(set) == 0 {
		delete(h.users, c.userID)
		if h.cfg.Connections != nil {
			h.cfg.Connections.UserDisconnected(c.userID)
		}
	}
}

// PushNotice hands v, encoded once, to every connection here of userIDs
// (users without one are skipped), without blocking: for notices that are
// not events, such as presence. It fails only when v cannot be encoded.
func (h *Hub) PushNotice(userIDs []string, v any) error {
	return h.push(userIDs, "", v, time.Time{})
}

// Acked tells the hub that userID's received watermark in the session reached
// seq (the user's own ack frame, on this node): the messages up to it are not
// redelivered to any of the user's connections here. Other nodes learn it from
// the MessagesReceived event.
func (h *Hub) Acked(userID, sessionID string, seq int64) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	for c := range h.users[userID] {
		c.acked(sessionID, seq)
	}
}

func (h *Hub) anyoneOnline() bool {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return len(h.users) > 0
}
