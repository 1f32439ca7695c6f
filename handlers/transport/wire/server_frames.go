package wire

import "github.com/tellyou/tellyou/readmodels"

// Server frame types.
const (
	TypeOK       = "ok"
	TypeSendAck  = "sendAck"
	TypeMessage  = "message"
	TypeRecalled = "recalled"
	TypeEdited   = "edited"
	TypeReaction = "reaction"
	TypeReceipt  = "receipt"
	TypeMessages = "messages"
	TypeError    = "error"
)

// OKFrame answers an ack, recall, edit, react or typing frame that carried an
// id.
type OKFrame struct {
	Type string `json:"type"`
	ID   string `json:"id,omitempty"`
}

// SendAckFrame answers a send once its MessageSent event is durable.
type SendAckFrame struct {
	Type              string `json:"type"`
	ID                string `json:"id,omitempty"`
	ClientMessageID   string `json:"clientMessageId"`
	SessionID         string `json:"sessionId"`
	MessageID         string `json:"messageId"`
	Seq               int64  `json:"seq"`
	ServerTimestamp   int64  `json:"serverTimestamp"`
	AdjustedTimestamp int64  `json:"adjustedTimestamp"`
	Duplicate         bool   `json:"duplicate"`
}

// MessageFrame pushes a new message.
type MessageFrame struct {
	Type    string             `json:"type"`
	Message readmodels.Message `json:"message"`
}

// RecalledFrame pushes a recall.
type RecalledFrame struct {
	Type      string `json:"type"`
	SessionID string `json:"sessionId"`
	MessageID string `json:"messageId"`
	Seq       int64  `json:"seq"`
	By        string `json:"by"`
}

// EditedFrame pushes an edit: the message's new content.
type EditedFrame struct {
	Type      string `json:"type"`
	SessionID string `json:"sessionId"`
	Seq       int64  `json:"seq"`
	MessageID string `json:"messageId"`
	Content   string `json:"content"`
	EditedAt  int64  `json:"editedAt"`
	// Erased is true when the edit's content was erased (its key
	// shredded); Content is then empty.
	Erased bool `json:"erased,omitempty"`
}

// ReactionFrame pushes a reaction added, or removed (Removed set).
type ReactionFrame struct {
	Type      string `json:"type"`
	SessionID string `json:"sessionId"`
	Seq       int64  `json:"seq"`
	MessageID string `json:"messageId"`
	UserID    string `json:"userId"`
	Emoji     string `json:"emoji"`
	Removed   bool   `json:"removed"`
}

// ReceiptFrame pushes another member's watermark move.
type ReceiptFrame struct {
	Type      string `json:"type"`
	SessionID string `json:"sessionId"`
	UserID    string `json:"userId"`
	Seq       int64  `json:"seq"`
	AckType   string `json:"ackType"`
}

// TypingFrame relays another member's typing.
type TypingFrame struct {
	Type      string `json:"type"`
	SessionID string `json:"sessionId"`
	UserID    string `json:"userId"`
}

// MessagesFrame answers a sync.
type MessagesFrame struct {
	Type      string               `json:"type"`
	ID        string               `json:"id,omitempty"`
	SessionID string               `json:"sessionId"`
	Messages  []readmodels.Message `json:"messages"`
	LastSeq   int64                `json:"lastSeq"`
	HasMore   bool                 `json:"hasMore"`
}

// ErrorFrame refuses a frame.
type ErrorFrame struct {
	Type            string `json:"type"`
	ID              string `json:"id,omitempty"`
	ClientMessageID string `json:"clientMessageId,omitempty"`
	Code            string `json:"code"`
	Message         string `json:"message"`
	// RetryAfterMs comes with overloaded: see Error.RetryAfterMs.
	RetryAfterMs int64 `json:"retryAfterMs,omitempty"`
}

// NewErrorFrame builds the error answer to a frame.
func NewErrorFrame(f ClientFrame, err *Error) ErrorFrame {
	return ErrorFrame{Type: TypeError, ID: f.ID, ClientMessageID: f.ClientMessageID, Code: err.Code, Message: err.Message,
		RetryAfterMs: err.RetryAfterMs}
}
