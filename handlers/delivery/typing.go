package delivery

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/tellyou/tellyou/handlers/transport/wire"
)

// typingTimeout bounds the member lookup of one typing notice.
const typingTimeout = 2 * time.Second

// typingNotice is the payload of a typing topic message.
type typingNotice struct {
	SessionID string `json:"sessionId"`
	UserID    string `json:"userId"`
}

// PublishTyping relays that userID is typing in the session to the other
// members' connections on this node and, over the bus, on every other. The
// caller checks membership first. Typing notices are never stored: one that
// cannot be relayed is dropped, as it would be stale by the time a retry
// arrived.
func (h *Hub) PublishTyping(userID, sessionID string) error {
	n := typingNotice{SessionID: sessionID, UserID: userID}
	h.relayTyping(n)
	if h.cfg.Bus == nil {
		return nil
	}
	payload, err := json.Marshal(n)
	if err != nil {
		return fmt.Errorf("encode typing notice: %w", err)
	}
	m := message.NewMessage(watermill.NewUUID(), payload)
	m.Metadata.Set(originKey, h.node)
	if err := h.cfg.Bus.Publish(h.cfg.TypingTopic, m); err != nil {
		return fmt.Errorf("publish typing notice on %s: %w", h.cfg.TypingTopic, err)
	}
	return nil
}

// relayTyping pushes a typing notice to the other members' connections here.
func (h *Hub) relayTyping(n typingNotice) {
	if !h.anyoneOnline() {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), typingTimeout)
	defer cancel()
	members, err := h.shardOf(n.SessionID).lookupMembers(ctx, n.SessionID, false)
	if err != nil {
		h.cfg.Logger.Warn("delivery: dropping typing notice", "session", n.SessionID, "err", err)
		return
	}
	if err := h.push(members, n.UserID, wire.TypingFrame{Type: wire.TypeTyping, SessionID: n.SessionID, UserID: n.UserID}, time.Time{}); err != nil {
		h.cfg.Logger.Error("delivery: cannot encode typing frame", "err", err)
	}
}

// receiveTyping relays the other nodes' typing notices until ctx ends or the
// subscription does.
func (h *Hub) receiveTyping(ctx context.Context, msgs <-chan *message.Message) error {
	return h.receive(ctx, h.cfg.TypingTopic, msgs, func(m *message.Message) {
		var n typingNotice
		if err := json.Unmarshal(m.Payload, &n); err != nil {
			h.cfg.Logger.Error("delivery: dropping undecodable typing notice", "id", m.UUID, "err", err)
			return
		}
		h.relayTyping(n)
	})
}
