package chatclient

import (
	"encoding/json"
	"errors"
)

// The frames below follow docs/protocol.md. They are the client's own
// declarations of the contract, not the server's types, so that the tests
// check the server against the documented wire format.

// Message is a message as the server returns it in pushes, sync answers and
// history pages.
type Message struct {
	MessageID       string `json:"messageId"`
	SessionID       string `json:"sessionId"`
	Seq             int64  `json:"seq"`
	SenderID        string `json:"senderId"`
	MessageType     int    `json:"messageType"`
	Content         string `json:"content"`
	ServerTimestamp int64  `json:"serverTimestamp"`
	Recalled        bool   `json:"recalled"`
	// Erased: the sender was erased (or the content's key shredded).
	Erased bool `json:"erased"`
}

// Session is one entry of GET /v1/sessions as the client uses it.
type Session struct {
	SessionID   string   `json:"sessionId"`
	Kind        string   `json:"kind"`
	Title       string   `json:"title"`
	Owner       string   `json:"owner"`
	Members     []string `json:"members"`
	LastSeq     int64    `json:"lastSeq"`
	ReceivedSeq int64    `json:"receivedSeq"`
	ReadSeq     int64    `json:"readSeq"`
	UnreadCount int64    `json:"unreadCount"`
	Muted       bool     `json:"muted"`
}

// page is a page of history: the HTTP messages answer.
type page struct {
	Messages []Message `json:"messages"`
	LastSeq  int64     `json:"lastSeq"`
	HasMore  bool      `json:"hasMore"`
}

type sendFrame struct {
	Type            string `json:"type"`
	ID              string `json:"id"`
	SessionID       string `json:"sessionId,omitempty"`
	ToUserID        string `json:"toUserId,omitempty"`
	MessageType     int    `json:"messageType"`
	Content         string `json:"content"`
	ClientMessageID string `json:"clientMessageId"`
	ClientTimestamp int64  `json:"clientTimestamp"`
}

// ackFrame is sent with an id, so that the server answers it (ok, or an
// error) and an ack refused as overloaded is sent again like any request.
type ackFrame struct {
	Type      string `json:"type"`
	ID        string `json:"id,omitempty"`
	SessionID string `json:"sessionId"`
	Seq       int64  `json:"seq"`
	AckType   string `json:"ackType"`
}

type recallFrame struct {
	Type      string `json:"type"`
	ID        string `json:"id"`
	SessionID string `json:"sessionId"`
	MessageID string `json:"messageId"`
}

// editFrame and reactFrame change a message: its content, or the user's
// reaction to it.
type editFrame struct {
	Type      string `json:"type"`
	ID        string `json:"id"`
	SessionID string `json:"sessionId"`
	MessageID string `json:"messageId"`
	Content   string `json:"content"`
}

type reactFrame struct {
	Type      string `json:"type"`
	ID        string `json:"id"`
	SessionID string `json:"sessionId"`
	MessageID string `json:"messageId"`
	Emoji     string `json:"emoji"`
	Remove    bool   `json:"remove"`
}

type syncFrame struct {
	Type      string `json:"type"`
	ID        string `json:"id"`
	SessionID string `json:"sessionId"`
	AfterSeq  int64  `json:"afterSeq"`
	Limit     int    `json:"limit"`
}

// serverFrame is any frame the server sends. Message is an object in a
// "message" push and a string in an "error".
type serverFrame struct {
	Type            string          `json:"type"`
	ID              string          `json:"id"`
	ClientMessageID string          `json:"clientMessageId"`
	SessionID       string          `json:"sessionId"`
	MessageID       string          `json:"messageId"`
	Seq             int64           `json:"seq"`
	ServerTimestamp int64           `json:"serverTimestamp"`
	By              string          `json:"by"`
	UserID          string          `json:"userId"`
	AckType         string          `json:"ackType"`
	Code            string          `json:"code"`
	Message         json.RawMessage `json:"message"`
	RetryAfterMs    int64           `json:"retryAfterMs"`
	Messages        []Message       `json:"messages"`
	LastSeq         int64           `json:"lastSeq"`
	HasMore         bool            `json:"hasMore"`
	// Content and EditedAt come with an "edited" push; Emoji and Removed
	// with a "reaction".
	Content  string `json:"content"`
	EditedAt int64  `json:"editedAt"`
	Emoji    string `json:"emoji"`
	Removed  bool   `json:"removed"`
}

// serverError returns the error an "error" frame carries.
func (f serverFrame) serverError() *ServerError {
	var text string
	_ = json.Unmarshal(f.Message, &text)
	return &ServerError{Code: f.Code, Message: text, RetryAfterMs: f.RetryAfterMs}
}

// ServerError is a refusal from the server, with its wire code (bad_request,
// forbidden, not_found, ...) and message.
type ServerError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	// RetryAfterMs comes with overloaded: how long to wait before sending
	// the same frame or request again.
	RetryAfterMs int64 `json:"retryAfterMs,omitempty"`
}

var _ error = (*ServerError)(nil)

func (e *ServerError) Error() string { return e.Code + ": " + e.Message }

// Temporary reports whether the same request may succeed when sent again.
func (e *ServerError) Temporary() bool {
	switch e.Code {
	case "unavailable", "overloaded", "conflict", "internal":
		return true
	}
	return false
}

// jsonObject decodes raw, which must be a JSON object, into v.
func jsonObject(raw json.RawMessage, v any) error {
	if len(raw) == 0 || raw[0] != '{' {
		return errors.New("not a JSON object")
	}
	return json.Unmarshal(raw, v)
}
