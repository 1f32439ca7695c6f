package loadgen

import "encoding/json"

// sendFrame is a client's send frame. The run's send time travels in ext, so
// that every receiving connection measures send->delivered on its own.
type sendFrame struct {
	Type            string   `json:"type"`
	ID              string   `json:"id"`
	SessionID       string   `json:"sessionId,omitempty"`
	ToUserID        string   `json:"toUserId,omitempty"`
	MessageType     int      `json:"messageType"`
	Content         string   `json:"content"`
	ClientMessageID string   `json:"clientMessageId"`
	ClientTimestamp int64    `json:"clientTimestamp"`
	Ext             benchExt `json:"ext"`
}

// benchExt marks a message as this run's and carries its send time.
type benchExt struct {
	SentAt int64 `json:"benchSentAtNs"`
}

type ackFrame struct {
	Type      string `json:"type"`
	ID        string `json:"id"`
	SessionID string `json:"sessionId"`
	Seq       int64  `json:"seq"`
	AckType   string `json:"ackType"`
}

type syncFrame struct {
	Type      string `json:"type"`
	ID        string `json:"id"`
	SessionID string `json:"sessionId"`
	AfterSeq  int64  `json:"afterSeq"`
	Limit     int    `json:"limit"`
}

// serverFrame is any frame the server sends: Message is a string in an error
// and an object in a push. Seq and Duplicate come with a sendAck,
// RetryAfterMs with an overloaded error.
type serverFrame struct {
	Type         string          `json:"type"`
	ID           string          `json:"id"`
	SessionID    string          `json:"sessionId"`
	Seq          int64           `json:"seq"`
	Duplicate    bool            `json:"duplicate"`
	Code         string          `json:"code"`
	RetryAfterMs int64           `json:"retryAfterMs"`
	Message      json.RawMessage `json:"message"`
	Messages     []pushedMessage `json:"messages"`
	HasMore      bool            `json:"hasMore"`
}

// codeOverloaded is the refusal of a frame the server did not take
// (docs/protocol.md): nothing was stored, and the same frame may be sent
// again after retryAfterMs.
const codeOverloaded = "overloaded"

// pushedMessage is the part of a Message the run reads.
type pushedMessage struct {
	SessionID string    `json:"sessionId"`
	Seq       int64     `json:"seq"`
	Ext       *benchExt `json:"ext"`
}
