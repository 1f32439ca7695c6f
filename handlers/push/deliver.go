package push

import (
	"context"
	"encoding/json"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/tellyou/tellyou/domain"
	"github.com/tellyou/tellyou/events"
	"github.com/tellyou/tellyou/handlers/wire"
	"github.com/tellyou/tellyou/readmodels"
)

// handleEvent turns one event into frames for the local connections. It runs
// on the events goroutine only, which alone writes the member and version
// caches.
func (h *Hub) handleEvent(ctx context.Context, m *message.Message) {
	rec, env, err := decodeEvent(m)
	if err != nil {
		h.cfg.Logger.Error("push hub: dropping undecodable event", "err", err)
		return
	}
	if last, ok := h.versions.Get(rec.StreamID); ok && rec.Version <= last {
		return // a copy of an event already handled
	}
	h.versions.Add(rec.StreamID, rec.Version)
	occurred := time.UnixMilli(env.Meta.OccurredAt)

	switch e := env.Payload.(type) {
	case events.SessionCreated:
		h.members.Add(e.SessionID, normalize(e.Members))
	case events.MembersAdded:
		if cur, ok := h.members.Get(e.SessionID); ok {
			h.members.Add(e.SessionID, normalize(append(cur[:len(cur):len(cur)], e.Members...)))
		}
	case events.MembersRemoved:
		if cur, ok := h.members.Get(e.SessionID); ok {
			h.members.Add(e.SessionID, without(cur, e.Members))
		}
	case events.MessageSent:
		h.pushMessage(ctx, e, occurred)
	case events.MessageRecalled:
		h.fanOut(ctx, e.SessionID, "", wire.RecalledFrame{Type: wire.TypeRecalled, SessionID: e.SessionID, MessageID: e.MessageID, Seq: e.Seq, By: e.By}, occurred)
	case events.MessagesReceived:
		h.Acked(e.UserID, e.SessionID, e.UpToSeq)
		h.fanOut(ctx, e.SessionID, e.UserID, wire.ReceiptFrame{Type: wire.TypeReceipt, SessionID: e.SessionID, UserID: e.UserID, Seq: e.UpToSeq, AckType: domain.AckReceived}, occurred)
	case events.MessagesRead:
		h.Acked(e.UserID, e.SessionID, e.UpToSeq)
		h.fanOut(ctx, e.SessionID, e.UserID, wire.ReceiptFrame{Type: wire.TypeReceipt, SessionID: e.SessionID, UserID: e.UserID, Seq: e.UpToSeq, AckType: domain.AckRead}, occurred)
	}
}

// pushMessage pushes a new message to every online device of every member,
// except the connection that sent it, and tracks it for redelivery on the
// other members' connections (the sender's own devices never ack their own
// messages: they are not in the sender's inbox).
func (h *Hub) pushMessage(ctx context.Context, e events.MessageSent, occurred time.Time) {
	if !h.anyoneOnline() {
		return
	}
	members, ok := h.sessionMembers(ctx, e.SessionID, true)
	if !ok {
		return
	}
	ext := e.Ext
	if len(ext) == 0 {
		ext = nil
	}
	frame, ok := h.marshal(wire.MessageFrame{Type: wire.TypeMessage, Message: readmodels.Message{
		MessageID: e.MessageID, SessionID: e.SessionID, Seq: e.Seq, SenderID: e.SenderID,
		MessageType: e.MessageType, Content: e.Content, Ext: ext, ClientMessageID: e.ClientMessageID,
		ClientTimestamp: e.ClientTimestamp, ServerTimestamp: e.ServerTimestamp, AdjustedTimestamp: e.AdjustedTimestamp,
	}})
	if !ok {
		return
	}
	due := time.Now().Add(h.cfg.RedeliveryTimeout)
	h.mu.RLock()
	defer h.mu.RUnlock()
	for _, u := range members {
		for c := range h.users[u] {
			if u == e.SenderID && c.takeOwn(e.ClientMessageID) {
				continue
			}
			if !c.out.Enqueue(frame) {
				continue
			}
			h.observe(occurred)
			if u != e.SenderID {
				c.track(e.SessionID, e.Seq, frame, due)
			}
		}
	}
}

// fanOut pushes frame to every online connection of the session's members
// but except.
func (h *Hub) fanOut(ctx context.Context, sessionID, except string, v any, occurred time.Time) {
	if !h.anyoneOnline() {
		return
	}
	members, ok := h.sessionMembers(ctx, sessionID, true)
	if !ok {
		return
	}
	frame, ok := h.marshal(v)
	if !ok {
		return
	}
	h.mu.RLock()
	defer h.mu.RUnlock()
	for _, u := range members {
		if u == except {
			continue
		}
		for c := range h.users[u] {
			if c.out.Enqueue(frame) {
				h.observe(occurred)
			}
		}
	}
}

// handleTyping relays a typing notice to the other members' connections.
func (h *Hub) handleTyping(ctx context.Context, m *message.Message) {
	var n typingNotice
	if err := json.Unmarshal(m.Payload, &n); err != nil {
		h.cfg.Logger.Error("push hub: dropping undecodable typing notice", "id", m.UUID, "err", err)
		return
	}
	if !h.anyoneOnline() {
		return
	}
	members, ok := h.sessionMembers(ctx, n.SessionID, false)
	if !ok {
		return
	}
	frame, ok := h.marshal(wire.TypingFrame{Type: wire.TypeTyping, SessionID: n.SessionID, UserID: n.UserID})
	if !ok {
		return
	}
	h.mu.RLock()
	defer h.mu.RUnlock()
	for _, u := range members {
		if u == n.UserID {
			continue
		}
		for c := range h.users[u] {
			c.out.Enqueue(frame)
		}
	}
}

func (h *Hub) observe(occurred time.Time) {
	h.cfg.Metrics.PushLatency.Observe(max(h.cfg.Now().Sub(occurred), 0).Seconds())
}

func (h *Hub) anyoneOnline() bool {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return len(h.users) > 0
}

// marshal encodes a frame; a frame that cannot be encoded (an event whose
// ext is not valid JSON) is logged and not pushed: clients get it by sync.
func (h *Hub) marshal(frame any) ([]byte, bool) {
	b, err := json.Marshal(frame)
	if err != nil {
		h.cfg.Logger.Error("push hub: cannot encode frame, not pushing it", "err", err)
		return nil, false
	}
	return b, true
}
