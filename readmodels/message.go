package readmodels

import (
	"encoding/json"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// Message is one message as pulls return it. A recalled message keeps its seq
// and comes back with Recalled set, empty Content and no Ext. An erased one
// (its sender was erased, or its key shredded) keeps its seq, ids,
// timestamps and reactions and comes back with Erased set, empty Content and
// no Ext.
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
	// ReplyTo is the id of the message this one answers, or empty.
	ReplyTo string `json:"replyTo,omitempty"`
	// EditedAt is the server time of the latest edit, ms since the Unix
	// epoch, or 0 for a message never edited; Content is then the latest.
	EditedAt int64 `json:"editedAt,omitempty"`
	// Reactions holds, by emoji, the users who reacted with it in the order
	// they did; nil when there are none.
	Reactions map[string][]string `json:"reactions,omitempty"`
	// Erased is true when what the message said was erased; Content is
	// then empty and Ext null.
	Erased bool `json:"erased,omitempty"`
}

// messageColumns selects a Message from rm_messages aliased m, its content
// in stored form, in the order the fields methods scan them. The message's
// reactions come in the same statement, so from the same snapshot, as an
// array of [emoji, userId] pairs in the order they were added: one probe of
// rm_reactions' primary key per message, and no round trip of its own.
const messageColumns = `m.message_id::text, m.session_id, m.seq, m.sender_id, m.message_type,
	m.content, m.ext, m.client_message_id, m.client_ts, m.server_ts, m.adjusted_ts, m.recalled,
	m.content_encoding, m.content_packed, m.edited_at, m.reply_to::text,
	ARRAY(SELECT ARRAY[r.emoji, r.user_id] FROM rm_reactions r
		WHERE r.message_id = m.message_id ORDER BY r.version, r.emoji, r.user_id),
	m.erased`

// messageRow is a row of messageColumns: a message whose content is still in
// stored form.
type messageRow struct {
	msg       Message
	stored    StoredContent
	replyTo   *string
	reactions [][]string
}

func (r *messageRow) fields() []any {
	m := &r.msg
	return []any{&m.MessageID, &m.SessionID, &m.Seq, &m.SenderID, &m.MessageType,
		&r.stored.Text, &m.Ext, &m.ClientMessageID, &m.ClientTimestamp, &m.ServerTimestamp,
		&m.AdjustedTimestamp, &m.Recalled, &r.stored.Encoding, &r.stored.Packed, &m.EditedAt,
		&r.replyTo, &r.reactions, &m.Erased}
}

// message returns the message with its latest content.
func (r *messageRow) message(codec *ContentCodec) (Message, error) {
	text, err := codec.Unpack(r.stored)
	if err != nil {
		return Message{}, fmt.Errorf("content of message %s: %w", r.msg.MessageID, err)
	}
	m := r.msg
	m.Content = text
	if r.replyTo != nil {
		m.ReplyTo = *r.replyTo
	}
	if m.Reactions, err = reactionsByEmoji(r.reactions); err != nil {
		return Message{}, fmt.Errorf("reactions to message %s: %w", r.msg.MessageID, err)
	}
	return m, nil
}

// reactionsByEmoji groups [emoji, userId] pairs, in the order they were
// added, by emoji; nil when there are none.
func reactionsByEmoji(pairs [][]string) (map[string][]string, error) {
	if len(pairs) == 0 {
		return nil, nil
	}
	byEmoji := make(map[string][]string, len(pairs))
	for _, p := range pairs {
		if len(p) != 2 {
			return nil, fmt.Errorf("reaction of %d values, want emoji and user", len(p))
		}
		byEmoji[p[0]] = append(byEmoji[p[0]], p[1])
	}
	return byEmoji, nil
}

// optionalMessage scans messageColumns of an outer join, where every column is
// NULL when there is no message.
type optionalMessage struct {
	messageID, sessionID, senderID, content, clientMessageID, encoding, replyTo *string
	seq, clientTS, serverTS, adjustedTS, editedAt                               *int64
	messageType                                                                 *int32
	ext, packed                                                                 []byte
	recalled, erased                                                            *bool
	reactions                                                                   [][]string
}

func (o *optionalMessage) fields() []any {
	return []any{&o.messageID, &o.sessionID, &o.seq, &o.senderID, &o.messageType,
		&o.content, &o.ext, &o.clientMessageID, &o.clientTS, &o.serverTS,
		&o.adjustedTS, &o.recalled, &o.encoding, &o.packed, &o.editedAt, &o.replyTo, &o.reactions, &o.erased}
}

// message returns the scanned message with its latest content, or nil when
// the join found none.
func (o *optionalMessage) message(codec *ContentCodec) (*Message, error) {
	if o.messageID == nil {
		return nil, nil
	}
	r := messageRow{
		msg: Message{
			MessageID:         *o.messageID,
			SessionID:         *o.sessionID,
			Seq:               *o.seq,
			SenderID:          *o.senderID,
			MessageType:       int(*o.messageType),
			Ext:               json.RawMessage(o.ext),
			ClientMessageID:   *o.clientMessageID,
			ClientTimestamp:   *o.clientTS,
			ServerTimestamp:   *o.serverTS,
			AdjustedTimestamp: *o.adjustedTS,
			Recalled:          *o.recalled,
			EditedAt:          *o.editedAt,
			Erased:            *o.erased,
		},
		stored:    StoredContent{Encoding: *o.encoding, Text: *o.content, Packed: o.packed},
		replyTo:   o.replyTo,
		reactions: o.reactions,
	}
	m, err := r.message(codec)
	if err != nil {
		return nil, err
	}
	return &m, nil
}

// collectMessages reads rows of messageColumns.
func collectMessages(rows pgx.Rows, codec *ContentCodec) ([]Message, error) {
	defer rows.Close()
	msgs := []Message{}
	for rows.Next() {
		var r messageRow
		if err := rows.Scan(r.fields()...); err != nil {
			return nil, err
		}
		m, err := r.message(codec)
		if err != nil {
			return nil, err
		}
		msgs = append(msgs, m)
	}
	return msgs, rows.Err()
}
