package push

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/tellyou/tellyou/domain"
	"github.com/tellyou/tellyou/events"
	"github.com/tellyou/tellyou/handlers/wire"
	"github.com/tellyou/tellyou/readmodels"
)

// handleEvent turns one event into frames for the local connections. It
// fails, before it has pushed anything, when it cannot decode the event,
// resolve its session's members or encode its frame: the router retries it,
// then dead-letters it. The events handler runs one event at a time, so the
// member and version caches follow the log's order.
func (h *Hub) handleEvent(m *message.Message) error {
	ctx := m.Context()
	rec, env, err := decodeEvent(m)
	if err != nil {
		return err
	}
	if last, ok := h.versions.Get(rec.StreamID); ok && rec.Version <= last {
		return nil // a copy of an event already handled
	}
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
		err = h.pushMessage(ctx, e, occurred)
	case events.MessageRecalled:
		err = h.fanOut(ctx, e.SessionID, "", wire.RecalledFrame{Type: wire.TypeRecalled, SessionID: e.SessionID, MessageID: e.MessageID, Seq: e.Seq, By: e.By}, occurred)
	case events.MessagesReceived:
		h.Acked(e.UserID, e.SessionID, e.UpToSeq)
		err = h.pushReceipt(ctx, wire.ReceiptFrame{Type: wire.TypeReceipt, SessionID: e.SessionID, UserID: e.UserID, Seq: e.UpToSeq, AckType: domain.AckReceived}, occurred)
	case events.MessagesRead:
		h.Acked(e.UserID, e.SessionID, e.UpToSeq)
		err = h.pushReceipt(ctx, wire.ReceiptFrame{Type: wire.TypeReceipt, SessionID: e.SessionID, UserID: e.UserID, Seq: e.UpToSeq, AckType: domain.AckRead}, occurred)
	}
	if err != nil {
		return fmt.Errorf("push %s %s@%d: %w", rec.Type, rec.StreamID, rec.Version, err)
	}
	// Recorded only once handled, so that a retry is not taken for a copy.
	h.versions.Add(rec.StreamID, rec.Version)
	return nil
}

// pushMessage pushes a new message to every online device of every member,
// except the connection that sent it, and tracks it for redelivery on the
// other members' connections (the sender's own devices never ack their own
// messages: they are not in the sender's inbox).
func (h *Hub) pushMessage(ctx context.Context, e events.MessageSent, occurred time.Time) error {
	if !h.anyoneOnline() {
		return nil
	}
	members, err := h.sessionMembers(ctx, e.SessionID, true)
	if err != nil {
		return err
	}
	ext := e.Ext
	if len(ext) == 0 {
		ext = nil
	}
	frame, err := json.Marshal(wire.MessageFrame{Type: wire.TypeMessage, Message: readmodels.Message{
		MessageID: e.MessageID, SessionID: e.SessionID, Seq: e.Seq, SenderID: e.SenderID,
		MessageType: e.MessageType, Content: e.Content, Ext: ext, ClientMessageID: e.ClientMessageID,
		ClientTimestamp: e.ClientTimestamp, ServerTimestamp: e.ServerTimestamp, AdjustedTimestamp: e.AdjustedTimestamp,
	}})
	if err != nil {
		return fmt.Errorf("encode frame: %w", err)
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
	return nil
}

// pushReceipt pushes a receipt to the other members of its session, unless
// the session has more than MaxReceiptMembers members.
func (h *Hub) pushReceipt(ctx context.Context, r wire.ReceiptFrame, occurred time.Time) error {
	if !h.anyoneOnline() {
		return nil
	}
	members, err := h.sessionMembers(ctx, r.SessionID, true)
	if err != nil {
		return err
	}
	if len(members) > h.cfg.MaxReceiptMembers {
		return nil
	}
	return h.push(members, r.UserID, r, occurred)
}

// fanOut pushes frame to every online connection of the session's members
// but except.
func (h *Hub) fanOut(ctx context.Context, sessionID, except string, v any, occurred time.Time) error {
	if !h.anyoneOnline() {
		return nil
	}
	members, err := h.sessionMembers(ctx, sessionID, true)
	if err != nil {
		return err
	}
	return h.push(members, except, v, occurred)
}

// push encodes v and hands it to every online connection of members but
// except.
func (h *Hub) push(members []string, except string, v any, occurred time.Time) error {
	frame, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode frame: %w", err)
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
	return nil
}

// handleTyping relays a typing notice to the other members' connections. A
// notice that cannot be relayed is logged and dropped: it is stale by the
// time a retry could deliver it.
func (h *Hub) handleTyping(m *message.Message) error {
	var n typingNotice
	if err := json.Unmarshal(m.Payload, &n); err != nil {
		h.cfg.Logger.Error("push hub: dropping undecodable typing notice", "id", m.UUID, "err", err)
		return nil
	}
	if !h.anyoneOnline() {
		return nil
	}
	members, err := h.sessionMembers(m.Context(), n.SessionID, false)
	if err != nil {
		h.cfg.Logger.Warn("push hub: dropping typing notice", "session", n.SessionID, "err", err)
		return nil
	}
	frame, err := json.Marshal(wire.TypingFrame{Type: wire.TypeTyping, SessionID: n.SessionID, UserID: n.UserID})
	if err != nil {
		h.cfg.Logger.Error("push hub: cannot encode typing frame", "err", err)
		return nil
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
	return nil
}

func (h *Hub) observe(occurred time.Time) {
	h.cfg.Metrics.PushLatency.Observe(max(h.cfg.Now().Sub(occurred), 0).Seconds())
}

func (h *Hub) anyoneOnline() bool {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return len(h.users) > 0
}
