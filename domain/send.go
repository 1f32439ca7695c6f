package domain

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/tellyou/tellyou/events"
)

// maxClientMessageIDLen bounds a client message id, in characters.
const maxClientMessageIDLen = 64

// SendCommand asks to send one message.
type SendCommand struct {
	// SenderID is the authenticated user.
	SenderID string
	// SessionID names the session; for a send to a user it is
	// DirectSessionID(SenderID, toUserId).
	SessionID string
	// CreateDirect is set when the send named a user (toUserId): a direct
	// session that does not exist yet is created by this message. Without it, a
	// missing session is KindNotFound, direct or not.
	CreateDirect bool
	// MessageID is a fresh uuid chosen by the caller; it is used only when the
	// send is not a duplicate.
	MessageID string
	// MessageType is 1 for text; other positive values are the clients' own.
	MessageType int
	// Content is the message body: non-empty UTF-8 of at most
	// Policy.MaxContentBytes bytes, whatever the type.
	Content string
	// Ext is an optional JSON object of at most Policy.MaxExtBytes bytes;
	// empty or JSON null means none.
	Ext json.RawMessage
	// ClientMessageID is the client's id for the send (1-64 characters); with
	// SenderID it makes the send idempotent.
	ClientMessageID string
	// ClientTimestamp is the client's clock at sending, ms (0: unknown).
	ClientTimestamp int64
	// ReplyTo is the id of an earlier message of the same session this one
	// answers, or empty. A recalled message may be answered.
	ReplyTo string
	// ReplyFound, when not nil, is the message ReplyTo names as the history
	// read model holds it in this session, for a message older than the
	// state keeps (see HistoryMessage).
	ReplyFound *HistoryMessage
	// Now is the server time, ms since the Unix epoch.
	Now int64
}

// SendResult is what the sender is answered (sendAck).
type SendResult struct {
	MessageID         string
	Seq               int64
	ServerTimestamp   int64
	AdjustedTimestamp int64
	// Duplicate is true when the send repeats an earlier one: nothing new is
	// appended and the fields above are the original message's.
	Duplicate bool
}

// DecideSend decides a send. Checks, in order: the command names the state's
// session and is well formed (KindInvalid); the session exists
// (KindNotFound), unless cmd.CreateDirect names a direct session of the
// sender, which is then created with this message (SessionCreated, then
// MessageSent); the sender is a member (KindForbidden). A send whose (SenderID, ClientMessageID) the state still
// knows (see Policy.DedupWindow) is a duplicate: it gets the original
// message's result with Duplicate set and no events, whatever its content.
// A reply's ReplyTo must be a message of the session the state holds, or
// cmd.ReplyFound (ErrUnknownReplyTo otherwise: the caller may look it up in
// the history and decide again). Otherwise the message gets seq LastSeq+1, server timestamp cmd.Now and the
// adjusted timestamp of AdjustTimestamp.
func DecideSend(s *Session, p Policy, cmd SendCommand) (SendResult, []events.Payload, error) {
	if err := s.checkTarget(cmd.SessionID); err != nil {
		return SendResult{}, nil, err
	}
	ext, err := checkSend(p, cmd)
	if err != nil {
		return SendResult{}, nil, err
	}

	var out []events.Payload
	if !s.Exists() {
		// createDirect makes the sender one of the two members.
		created, err := createDirect(cmd)
		if err != nil {
			return SendResult{}, nil, err
		}
		out = append(out, created)
	} else if !s.IsMember(cmd.SenderID) {
		return SendResult{}, nil, forbidden(reasonNotMember)
	}

	if orig, ok := s.recent.sent(cmd.SenderID, cmd.ClientMessageID); ok {
		return SendResult{
			MessageID:         orig.messageID,
			Seq:               orig.seq,
			ServerTimestamp:   orig.serverTs,
			AdjustedTimestamp: orig.adjustedTs,
			Duplicate:         true,
		}, nil, nil
	}
	if cmd.ReplyTo != "" {
		if _, ok := s.messageByID(cmd.ReplyTo, cmd.ReplyFound); !ok {
			return SendResult{}, nil, ErrUnknownReplyTo
		}
	}

	sent := events.MessageSent{
		SessionID:         cmd.SessionID,
		MessageID:         cmd.MessageID,
		Seq:               s.LastSeq + 1,
		SenderID:          cmd.SenderID,
		MessageType:       cmd.MessageType,
		Content:           cmd.Content,
		Ext:               ext,
		ClientMessageID:   cmd.ClientMessageID,
		ClientTimestamp:   cmd.ClientTimestamp,
		ServerTimestamp:   cmd.Now,
		AdjustedTimestamp: AdjustTimestamp(cmd.ClientTimestamp, cmd.Now, p.MaxClockSkew),
		ReplyTo:           cmd.ReplyTo,
	}
	res := SendResult{
		MessageID:         sent.MessageID,
		Seq:               sent.Seq,
		ServerTimestamp:   sent.ServerTimestamp,
		AdjustedTimestamp: sent.AdjustedTimestamp,
	}
	return res, append(out, sent), nil
}

// checkSend validates the command on its own and returns the ext to store
// (nil for none, else a private copy).
func checkSend(p Policy, cmd SendCommand) (json.RawMessage, error) {
	switch {
	case !ValidUserID(cmd.SenderID):
		return nil, invalid("invalid sender id")
	case cmd.ClientMessageID == "":
		return nil, invalid("clientMessageId is required")
	case !utf8.ValidString(cmd.ClientMessageID) || utf8.RuneCountInString(cmd.ClientMessageID) > maxClientMessageIDLen:
		return nil, invalid("clientMessageId must be at most 64 characters of UTF-8")
	case !validUUID(cmd.MessageID):
		return nil, invalid("messageId must be a uuid")
	case cmd.MessageType < 1:
		return nil, invalid("messageType must be a positive integer")
	case strings.ContainsRune(cmd.ClientMessageID, 0):
		return nil, invalid("clientMessageId must not contain NUL characters")
	}
	if err := checkContent(p, cmd.Content); err != nil {
		return nil, err
	}
	return checkExt(p, cmd.Ext)
}

// checkContent holds a message's content, sent or edited, to its rules:
// non-empty UTF-8 without NUL characters, at most Policy.MaxContentBytes
// bytes.
func checkContent(p Policy, content string) error {
	switch {
	case content == "":
		return invalid("content is required")
	case len(content) > p.MaxContentBytes:
		return &Error{Kind: KindTooLarge, Reason: fmt.Sprintf("content is longer than %d bytes", p.MaxContentBytes)}
	case !utf8.ValidString(content):
		return invalid("content is not valid UTF-8")
	case strings.ContainsRune(content, 0):
		return invalid("content must not contain NUL characters")
	}
	return nil
}

// checkExt accepts nothing, JSON null or a JSON object within the size limit.
func checkExt(p Policy, raw json.RawMessage) (json.RawMessage, error) {
	trimmed := bytes.TrimSpace(raw)
	if len(trimmed) == 0 || string(trimmed) == "null" {
		return nil, nil
	}
	if len(trimmed) > p.MaxExtBytes {
		return nil, &Error{Kind: KindTooLarge, Reason: fmt.Sprintf("ext is longer than %d bytes", p.MaxExtBytes)}
	}
	if trimmed[0] != '{' || !json.Valid(trimmed) {
		return nil, invalid("ext must be a JSON object")
	}
	return bytes.Clone(trimmed), nil
}

// createDirect is the SessionCreated of a direct session created by its first
// message, or why the send cannot create it.
func createDirect(cmd SendCommand) (events.SessionCreated, error) {
	if !cmd.CreateDirect {
		return events.SessionCreated{}, notFound(reasonNoSession)
	}
	if _, ok := DirectPeer(cmd.SessionID, cmd.SenderID); !ok {
		// Not a direct session id, or not one of the sender's.
		return events.SessionCreated{}, notFound(reasonNoSession)
	}
	a, b, _ := directUsers(cmd.SessionID)
	return events.SessionCreated{
		SessionID: cmd.SessionID,
		Kind:      events.KindDirect,
		Members:   []string{a, b},
		CreatedAt: cmd.Now,
	}, nil
}

// validUUID reports whether id is a uuid in canonical lower-case form: the
// form the state keeps as 16 bytes.
func validUUID(id string) bool {
	_, ok := parseCanonicalUUID(id)
	return ok
}
