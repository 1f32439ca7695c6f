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

	TypeMemberSettingsChanged  = "MemberSettingsChanged"
	TypeSessionSettingsChanged = "SessionSettingsChanged"
	TypeMessagesExpired        = "MessagesExpired"
	TypeUserErased             = "UserErased"
)

// UserStreamPrefix begins the id of a user's own stream ("u:<userId>"), which
// holds events about the user rather than about one session: UserErased.
const UserStreamPrefix = "u:"

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
	// Sealed holds Content encrypted (schema version 2); Content is then
	// empty in the log. Opening fills Content back in.
	Sealed *Sealed `json:"sealed,omitempty"`
	// SealedExt holds Ext encrypted under the same key as Sealed, when the
	// message has an ext; Ext is then empty in the log. The client's ext is
	// content too: an erasure or an expiry forgets it with the text.
	SealedExt *Sealed `json:"sealedExt,omitempty"`
	// Erased is set when opening found the content's key shredded (the
	// sender was erased or the content's retention period passed). It is
	// never stored.
	Erased bool `json:"-"`
}

// Sealed is content encrypted with AES-GCM under a data key. Metadata of the
// event stays in clear.
type Sealed struct {
	// KeyID names the data key (a uuid).
	KeyID string `json:"kid"`
	// Nonce and Ciphertext are base64 in JSON.
	Nonce      []byte `json:"nonce"`
	Ciphertext []byte `json:"ct"`
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
	// Sealed and Erased are as in MessageSent.
	Sealed *Sealed `json:"sealed,omitempty"`
	Erased bool    `json:"-"`
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

// MemberSettingsChanged records a member's own settings for one session.
// Muted stops offline notifications for the session.
type MemberSettingsChanged struct {
	SessionID string `json:"sessionId"`
	UserID    string `json:"userId"`
	Muted     bool   `json:"muted"`
	At        int64  `json:"at"`
}

// SessionSettingsChanged records settings of a session as a whole, changed
// by By. RetentionDays nil means the server's default retention.
type SessionSettingsChanged struct {
	SessionID     string `json:"sessionId"`
	By            string `json:"by"`
	RetentionDays *int   `json:"retentionDays"`
	At            int64  `json:"at"`
}

// MessagesExpired records that every message of the session up to UpToSeq
// passed its retention: read models drop them, seq numbering is untouched.
// Before is the cutoff (server time, ms) the expiry was decided with.
type MessagesExpired struct {
	SessionID string `json:"sessionId"`
	UpToSeq   int64  `json:"upToSeq"`
	Before    int64  `json:"before"`
}

// UserErased records that a user's content was forgotten on request: their
// data keys are deleted and read models show their messages as erased. It
// is stored in the user's stream (UserStreamPrefix + UserID).
type UserErased struct {
	UserID   string `json:"userId"`
	By       string `json:"by"`
	ErasedAt int64  `json:"erasedAt"`
}

func (SessionCreated) EventType() string         { return TypeSessionCreated }
func (MembersAdded) EventType() string           { return TypeMembersAdded }
func (MembersRemoved) EventType() string         { return TypeMembersRemoved }
func (MessageSent) EventType() string            { return TypeMessageSent }
func (MessagesReceived) EventType() string       { return TypeMessagesReceived }
func (MessagesRead) EventType() string           { return TypeMessagesRead }
func (MessageRecalled) EventType() string        { return TypeMessageRecalled }
func (MessageEdited) EventType() string          { return TypeMessageEdited }
func (ReactionAdded) EventType() string          { return TypeReactionAdded }
func (ReactionRemoved) EventType() string        { return TypeReactionRemoved }
func (MemberSettingsChanged) EventType() string  { return TypeMemberSettingsChanged }
func (SessionSettingsChanged) EventType() string { return TypeSessionSettingsChanged }
func (MessagesExpired) EventType() string        { return TypeMessagesExpired }
func (UserErased) EventType() string             { return TypeUserErased }
