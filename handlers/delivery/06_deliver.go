package delivery

import (
	"context"
	"fmt"
	"time"

	"github.com/tellyou/tellyou/domain"
	"github.com/tellyou/tellyou/events"
	"github.com/tellyou/tellyou/handlers/transport/wire"
)

// deliver turns one event, in its session's order, into frames for the local
// connections: a message to every online device of every member (the
// sending connection excepted), a recall, an edit or a reaction to every
// member (not tracked for redelivery: a client that missed one reads the
// message again), an expiry to every member, a receipt to the other members. Membership events keep the shard's member cache. It fails,
// before it has pushed anything, when it cannot resolve the session's members
// or encode the frame. Each frame is encoded once and the same bytes go to
// every connection.
func (sh *shard) deliver(ctx context.Context, e *event) error {
	occurred := time.UnixMilli(e.meta.OccurredAt)
	var err error
	switch p := e.payload.(type) {
	case events.SessionCreated:
		sh.members.Add(p.SessionID, normalize(p.Members))
	case events.MembersAdded:
		if cur, ok := sh.members.Get(p.SessionID); ok {
			sh.members.Add(p.SessionID, normalize(append(cur[:len(cur):len(cur)], p.Members...)))
		}
	case events.MembersRemoved:
		if cur, ok := sh.members.Get(p.SessionID); ok {
			sh.members.Add(p.SessionID, without(cur, p.Members))
		}
	case events.MessageSent:
		err = sh.pushMessage(ctx, p, occurred)
	case events.MessageRecalled:
		err = sh.fanOut(ctx, p.SessionID, "", wire.RecalledFrame{Type: wire.TypeRecalled, SessionID: p.SessionID,
			MessageID: p.MessageID, Seq: p.Seq, By: p.By}, occurred)
	case events.MessageEdited:
		err = sh.fanOut(ctx, p.SessionID, "", wire.EditedFrame{Type: wire.TypeEdited, SessionID: p.SessionID, Seq: p.Seq,
			MessageID: p.MessageID, Content: erasedOr(p.Content, p.Erased), EditedAt: p.EditedAt, Erased: p.Erased}, occurred)
	case events.ReactionAdded:
		err = sh.fanOut(ctx, p.SessionID, "", wire.ReactionFrame{Type: wire.TypeReaction, SessionID: p.SessionID, Seq: p.Seq,
			MessageID: p.MessageID, UserID: p.UserID, Emoji: p.Emoji}, occurred)
	case events.ReactionRemoved:
		err = sh.fanOut(ctx, p.SessionID, "", wire.ReactionFrame{Type: wire.TypeReaction, SessionID: p.SessionID, Seq: p.Seq,
			MessageID: p.MessageID, UserID: p.UserID, Emoji: p.Emoji, Removed: true}, occurred)
	case events.MessagesExpired:
		err = sh.fanOut(ctx, p.SessionID, "", wire.ExpiredFrame{Type: wire.TypeExpired, SessionID: p.SessionID,
			UpToSeq: p.UpToSeq}, occurred)
	case events.MessagesReceived:
		sh.hub.Acked(p.UserID, p.SessionID, p.UpToSeq)
		err = sh.pushReceipt(ctx, wire.ReceiptFrame{Type: wire.TypeReceipt, SessionID: p.SessionID, UserID: p.UserID,
			Seq: p.UpToSeq, AckType: domain.AckReceived}, occurred)
	case events.MessagesRead:
		sh.hub.Acked(p.UserID, p.SessionID, p.UpToSeq)
		err = sh.pushReceipt(ctx, wire.ReceiptFrame{Type: wire.TypeReceipt, SessionID: p.SessionID, UserID: p.UserID,
			Seq: p.UpToSeq, AckType: domain.AckRead}, occurred)
	}
	if err != nil {
		return fmt.Errorf("push %s %s@%d: %w", e.typ, e.streamID, e.version, err)
	}
	return nil
}

// pushMessage pushes a new message to every online device of every member,
// except the connection that sent it, and tracks it for redelivery on the
// other members' connections (the sender's own devices never ack their own
// messages: they are not in the sender's inbox).
func (sh *shard) pushMessage(ctx context.Context, m events.MessageSent, occurred time.Time) error {
	h := sh.hub
	if !h.anyoneOnline() {
		return nil
	}
	members, err := sh.sessionMembers(ctx, m.SessionID)
	if err != nil {
		return err
	}
	frame, err := messageFrame(m)
	if err != nil {
		return err
	}
	due := time.Now().Add(h.cfg.RedeliveryTimeout)
	h.mu.RLock()
	defer h.mu.RUnlock()
	for _, u := range members {
		for c := range h.users[u] {
			if u == m.SenderID && c.takeOwn(m.ClientMessageID) {
				continue
			}
			if !c.out.Enqueue(frame) {
				continue
			}
			h.observe(occurred)
			if u != m.SenderID {
				c.track(m.SessionID, m.Seq, frame, due)
			}
		}
	}
	return nil
}

// pushReceipt pushes a receipt to the other members of its session, unless
// the session has more than MaxReceiptMembers members.
func (sh *shard) pushReceipt(ctx context.Context, r wire.ReceiptFrame, occurred time.Time) error {
	if !sh.hub.anyoneOnline() {
		return nil
	}
	members, err := sh.sessionMembers(ctx, r.SessionID)
	if err != nil {
		return err
	}
	if len(members) > sh.hub.cfg.MaxReceiptMembers {
		return nil
	}
	return sh.hub.push(members, r.UserID, r, occurred)
}

// fanOut pushes frame to every online connection of the session's members
// but except.
func (sh *shard) fanOut(ctx context.Context, sessionID, except string, v any, occurred time.Time) error {
	if !sh.hub.anyoneOnline() {
		return nil
	}
	members, err := sh.sessionMembers(ctx, sessionID)
	if err != nil {
		return err
	}
	return sh.hub.push(members, except, v, occurred)
}

// push encodes v once and hands it to every online connection of members but
// except.
func (h *Hub) push(members []string, except string, v any, occurred time.Time) error {
	frame, err := encodeFrame(v)
	if err != nil {
		return err
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

// observe records a push's latency from its event's time; typing notices,
// which have none, are not measured.
func (h *Hub) observe(occurred time.Time) {
	if occurred.IsZero() {
		return
	}
	h.cfg.Metrics.PushLatency.Observe(max(h.cfg.Now().Sub(occurred), 0).Seconds())
}
