package readmodels

import (
	"encoding/json"

	"github.com/jackc/pgx/v5"
)

// Message is one message as pulls return it. A recalled message keeps its seq
// and comes back with Recalled set, empty Content and no Ext.
type Message struct {
	MessageID   string `json:"messageId"`
	SessionID   string `json:"sessionId"`
	Seq         int64  `json:"seq"`
	SenderID    string `json:"senderId"`
	MessageType int    `json:"messageType"`
	Content     string `json:"content"`
	// Ext is the sender's extension object byte for byte as the event holds
	// it, or nil (JSON null) when there is none.
	Ext               json.RawMessage `json:"ext"`
	ClientMessageID   string          `json:"clientMessageId"`
	ClientTimestamp   int64           `json:"clientTimestamp"`
	ServerTimestamp   int64           `json:"serverTimestamp"`
	AdjustedTimestamp int64           `json:"adjustedTimestamp"`
	Recalled          bool            `json:"recalled"`
}

// messageColumns selects a Message from rm_messages aliased m, in the order
// scanMessage reads them.
const messageColumns = `m.message_id::text, m.session_id, m.seq, m.sender_id, m.message_type,
	m.content, m.ext, m.client_message_id, m.client_ts, m.server_ts, m.adjusted_ts, m.recalled`

// messageFields returns the scan targets of messageColumns.
func (m *Message) fields() []any {
	return []any{&m.MessageID, &m.SessionID, &m.Seq, &m.SenderID, &m.MessageType,
		&m.Content, &m.Ext, &m.ClientMessageID, &m.ClientTimestamp, &m.ServerTimestamp,
		&m.AdjustedTimestamp, &m.Recalled}
}

// optionalMessage scans messageColumns of an outer join, where every column is
// NULL when there is no message.
type optionalMessage struct {
	messageID, sessionID, senderID, content, clientMessageID *string
	seq, clientTS, serverTS, adjustedTS                      *int64
	messageType                                              *int32
	ext                                                      []byte
	recalled                                                 *bool
}

func (o *optionalMessage) fields() []any {
	return []any{&o.messageID, &o.sessionID, &o.seq, &o.senderID, &o.messageType,
		&o.content, &o.ext, &o.clientMessageID, &o.clientTS, &o.serverTS,
		&o.adjustedTS, &o.recalled}
}

// message returns the scanned message, or nil when the join found none.
func (o *optionalMessage) message() *Message {
	if o.messageID == nil {
		return nil
	}
	return &Message{
		MessageID:         *o.messageID,
		SessionID:         *o.sessionID,
		Seq:               *o.seq,
		SenderID:          *o.senderID,
		MessageType:       int(*o.messageType),
		Content:           *o.content,
		Ext:               json.RawMessage(o.ext),
		ClientMessageID:   *o.clientMessageID,
		ClientTimestamp:   *o.clientTS,
		ServerTimestamp:   *o.serverTS,
		AdjustedTimestamp: *o.adjustedTS,
		Recalled:          *o.recalled,
	}
}

// collectMessages reads rows of messageColumns.
func collectMessages(rows pgx.Rows) ([]Message, error) {
	msgs := []Message{}
	for rows.Next() {
		var m Message
		if err := rows.Scan(m.fields()...); err != nil {
			rows.Close()
			return nil, err
		}
		msgs = append(msgs, m)
	}
	return msgs, rows.Err()
}
