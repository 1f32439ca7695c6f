package command

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/tellyou/tellyou/domain"
	"github.com/tellyou/tellyou/events"
)

// Send is a client's request to send a message, addressed by SessionID or by
// ToUserID (exactly one).
type Send struct {
	Meta            RequestMeta
	SessionID       string
	ToUserID        string
	MessageType     int
	Content         string
	Ext             json.RawMessage
	ClientMessageID string
	ClientTimestamp int64
	// ReplyTo is the id of the message of the same session this one answers,
	// or empty.
	ReplyTo string
}

// SendAck is the result of a durable send: what the sendAck frame carries.
type SendAck struct {
	SessionID string
	domain.SendResult
}

// SendHandler appends MessageSent events.
type SendHandler struct {
	repo    *SessionRepository
	policy  domain.Policy
	history MessageLookup
}

// Handle appends the message and returns its seq once the append is durable. A
// repeated (sender, clientMessageId) appends nothing and returns the original
// message's id and seq with Duplicate set. Sending by ToUserID creates the direct
// session on its first message. A send the node does not admit is refused with
// an *OverloadError (see Admission). A reply to a message older than the
// session state keeps is decided again after a look-up in the history, outside
// the session's lock: it is then decided after the sends queued on the
// session meanwhile, so a client that needs its replies in order waits for
// the answer to each before it sends the next.
func (h *SendHandler) Handle(ctx context.Context, cmd Send) (SendAck, error) {
	return h.start(ctx, cmd, nil, false).Wait()
}

// Start queues the send and returns at once: sends started one after the
// other on one session are decided in that order, and a send refused as
// overloaded closes gate for the client's later commands (see Admission). ctx
// must last until the send is answered.
func (h *SendHandler) Start(ctx context.Context, cmd Send, gate *Gate) *Pending[SendAck] {
	return h.start(ctx, cmd, gate, true)
}

func (h *SendHandler) start(ctx context.Context, cmd Send, gate *Gate, async bool) *Pending[SendAck] {
	sessionID, createDirect, err := sendTarget(cmd)
	if err != nil {
		return failed[SendAck](err)
	}
	p := h.queue(ctx, cmd, sessionID, createDirect, nil, gate, async)
	if cmd.ReplyTo != "" {
		p.recover = func(err error) (SendAck, error) {
			if !errors.Is(err, domain.ErrUnknownReplyTo) {
				return SendAck{}, err
			}
			found, lookupErr := findInHistory(ctx, h.history, sessionID, cmd.ReplyTo)
			switch {
			case lookupErr != nil:
				return SendAck{}, lookupErr
			case found == nil:
				return SendAck{}, err
			}
			return h.queue(ctx, cmd, sessionID, createDirect, found, gate, false).Wait()
		}
	}
	return p
}

// queue starts the decision of a send; replyFound is the message it answers
// when the history had to be asked for it.
func (h *SendHandler) queue(ctx context.Context, cmd Send, sessionID string, createDirect bool,
	replyFound *domain.HistoryMessage, gate *Gate, async bool) *Pending[SendAck] {
	messageID := h.repo.newID()
	var result domain.SendResult
	op := h.repo.start(ctx, sessionID, cmd.Meta, gate, func(s *domain.Session) ([]events.Payload, error) {
		res, evs, err := domain.DecideSend(s, h.policy, domain.SendCommand{
			SenderID:        cmd.Meta.Actor,
			SessionID:       sessionID,
			CreateDirect:    createDirect,
			MessageID:       messageID,
			MessageType:     cmd.MessageType,
			Content:         cmd.Content,
			Ext:             cmd.Ext,
			ClientMessageID: cmd.ClientMessageID,
			ClientTimestamp: cmd.ClientTimestamp,
			ReplyTo:         cmd.ReplyTo,
			ReplyFound:      replyFound,
			Now:             h.repo.now().UnixMilli(),
		})
		result = res
		return evs, err
	}, nil, async)
	return &Pending[SendAck]{op: op, result: func() (SendAck, error) {
		return SendAck{SessionID: sessionID, SendResult: result}, nil
	}}
}

func sendTarget(cmd Send) (sessionID string, createDirect bool, err error) {
	switch {
	case cmd.SessionID != "" && cmd.ToUserID != "":
		return "", false, &domain.Error{Kind: domain.KindInvalid, Reason: "give sessionId or toUserId, not both"}
	case cmd.SessionID != "":
		if _, err := domain.SessionKind(cmd.SessionID); err != nil {
			return "", false, err
		}
		return cmd.SessionID, false, nil
	case cmd.ToUserID != "":
		id, err := domain.DirectSessionID(cmd.Meta.Actor, cmd.ToUserID)
		if err != nil {
			return "", false, err
		}
		return id, true, nil
	default:
		return "", false, &domain.Error{Kind: domain.KindInvalid, Reason: "sessionId or toUserId is required"}
	}
}
