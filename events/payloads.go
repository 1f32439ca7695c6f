package events

import "encoding/json"

// Event type names as stored in the log and shown to auditors.
const (
	TypeSessionCreated   = "SessionCreated"
	TypeMembersAdded     = "MembersAdded"
	TypeMembersRemoved   = "MembersRemoved"
	TypeMessageSent      = "MessageSent"
	TypeMessagesReceived = "MessagesReceived"
	TypeMessagesRead     = "MessagesRead"
	TypeMessageRecalled  = "MessageRecalled"
	TypeMessageEdited    = "MessageEdited"
	TypeReactionAdded    = "ReactionAdded"
	TypeReactionRemoved  = "ReactionRemoved"
)

// Session kinds.
const (
	KindDirect = "direct"
	KindGroup  = "group"
)

// Payload is the body of one event. Each payload type names its event type.
type Payload interface {
	EventType() string
}

// SessionCreated starts a session's stream. A direct session is created by its
// first message (in the same append); a group session by an explicit request.
type SessionCreated struct {
	SessionID string   `json:"sessionId"`
	Kind      string   `json:"kind"`
	Title     string   `json:"title,omitempty"`
	Owner     string   `json:"owner,omitempty"`
	Members   []string `json:"members"`
	CreatedAt int64    `json:"createdAt"`
}

// MembersAdded records users joining a group. AtSeq is the session's last seq when
// they joined: their received and read watermarks start there, so earlier
// history is readable but not unread.
type MembersAdded struct {
	SessionID string   `json:"sessionId"`
	Members   []string `json:"members"`
	By        string   `json:"by"`
	AtSeq     int64    `json:"atSeq"`
}

// MembersRemoved records users leaving a group (removed by its owner).
type MembersRemoved struct {
	SessionID string   `json:"sessionId"`
	Members   []string `json:"members"`
	By        string   `json:"by"`
}

// MessageSent is one message with its session-wide seq, fixed at append time.
type MessageSent struct {
	SessionID         string          `json:"sessionId"`
	MessageID         string          `json:"messageId"`
	Seq               int64           `json:"seq"`
	SenderID          string          `json:"senderId"`
	MessageType       int             `json:"messageType"`
	Content           string          `json:"content"`
	Ext               json.RawMessage `json:"ext,omitempty"`
	ClientMessageID   string          `json:"clientMessageId"`
	ClientTimestamp   int64           `json:"clientTimestamp"`
	ServerTimestamp   int64           `json:"serverTimestamp"`
	AdjustedTimestamp int64           `json:"adjustedTimestamp"`
	// ReplyTo is the id of an earlier message of the same session this one
	// answers, or empty.
	ReplyTo string `json:"replyTo,omitempty"`
}

// MessagesReceived moves a member's received watermark forward to UpToSeq
// (cumulative: every message up to it has reached one of the user's devices).
type MessagesReceived struct {
	SessionID string `json:"sessionId"`
	UserID    string `json:"userId"`
	UpToSeq   int64  `json:"upToSeq"`
}

// MessagesRead moves a member's read watermark forward to UpToSeq (cumulative).
type MessagesRead struct {
	SessionID string `json:"sessionId"`
	UserID    string `json:"userId"`
	UpToSeq   int64  `json:"upToSeq"`
}

// MessageRecalled withdraws a message. It keeps its seq; its content is no longer
// served.
type MessageRecalled struct {
	SessionID  string `json:"sessionId"`
	MessageID  string `json:"messageId"`
	Seq        int64  `json:"seq"`
	By         string `json:"by"`
	RecalledAt int64  `json:"recalledAt"`
}

// MessageEdited replaces a message's content. Every version stays in the log;
// read models serve the latest. Seq is the edited message's seq.
type MessageEdited struct {
	SessionID string `json:"sessionId"`
	MessageID string `json:"messageId"`
	Seq       int64  `json:"seq"`
	By        string `json:"by"`
	Content   string `json:"content"`
	EditedAt  int64  `json:"editedAt"`
}

// ReactionAdded records that UserID reacted to a message with Emoji. A user
// has at most one reaction of each emoji on a message. Seq is the message's.
type ReactionAdded struct {
	SessionID string `json:"sessionId"`
	MessageID string `json:"messageId"`
	Seq       int64  `json:"seq"`
	UserID    string `json:"userId"`
	Emoji     string `json:"emoji"`
	At        int64  `json:"at"`
}

// ReactionRemoved withdraws UserID's Emoji reaction from a message.
type ReactionRemoved struct {
	SessionID string `json:"sessionId"`
	MessageID string `json:"messageId"`
	Seq       int64  `json:"seq"`
	UserID    string `json:"userId"`
	Emoji     string `json:"emoji"`
	At        int64  `json:"at"`
}

func (SessionCreated) EventType() string   { return TypeSessionCreated }
func (MembersAdded) EventType() string     { return TypeMembersAdded }
func (MembersRemoved) EventType() string   { return TypeMembersRemoved }
func (MessageSent) EventType() string      { return TypeMessageSent }
func (MessagesReceived) EventType() string { return TypeMessagesReceived }
func (MessagesRead) EventType() string     { return TypeMessagesRead }
func (MessageRecalled) EventType() string  { return TypeMessageRecalled }
func (MessageEdited) EventType() string    { return TypeMessageEdited }
func (ReactionAdded) EventType() string    { return TypeReactionAdded }
func (ReactionRemoved) EventType() string  { return TypeReactionRemoved }
