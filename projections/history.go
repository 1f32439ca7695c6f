package projections

import (
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/tellyou/tellyou/events"
	"github.com/tellyou/tellyou/readmodels"
)

// History returns the "history" projection: one rm_messages row per
// MessageSent, written idempotently (a message already present is left as
// it is), with the message it replies to; MessageEdited replaces a row's
// content and sets its edited_at; ReactionAdded and ReactionRemoved add and
// delete rm_reactions rows; MessageRecalled marks the row recalled and erases
// its content, ext, edited_at and reactions, and the row keeps its seq.
// MessagesExpired deletes the session's rows up to its seq and their
// reactions: expired messages leave history, inbox, unread counts and the
// sessions' last message at once.
//
// Every statement finds its message by message id and session, so an event
// naming a message the session does not hold (yet) changes nothing, and an
// edit or reaction of a recalled message changes nothing either: the
// outcome does not depend on the order in which a recall and the edits and
// reactions of its message were logged.
//
// Content longer than readmodels.CompressContentAbove is stored compressed
// (readmodels.ContentCodec), in Apply, so a rebuild writes the same bytes as
// the live projection did; edited content too. The returned projection is
// safe for concurrent use.
func History() Projection { return &historyProjection{} }

type historyProjection struct {
	content readmodels.ContentCodec
}

func (*historyProjection) Name() string     { return HistoryName }
func (*historyProjection) Tables() []string { return []string{"rm_messages", "rm_reactions"} }

func (*historyProjection) Handles(eventType string) bool {
	switch eventType {
	case events.TypeMessageSent, events.TypeMessageRecalled, events.TypeMessageEdited,
		events.TypeReactionAdded, events.TypeReactionRemoved, events.TypeMessagesExpired,
		events.TypeUserErased:
		return true
	}
	return false
}

func (h *historyProjection) Apply(b *pgx.Batch, tables TableNames, ev events.RecordedEvent, env events.Envelope) error {
	messages, reactions := tables.Of("rm_messages"), tables.Of("rm_reactions")
	switch e := env.Payload.(type) {
	case events.MessageSent:
		row, err := h.messageRow(ev, e)
		if err != nil {
			return err
		}
		id, content := row.id, row.content
		b.Queue(`INSERT INTO `+messages+` (session_id, seq, message_id, sender_id,
			message_type, content, content_encoding, content_packed, ext, client_message_id,
			client_ts, server_ts, adjusted_ts, recalled, reply_to, erased)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, false, $14, $15)
			ON CONFLICT DO NOTHING`,
			e.SessionID, e.Seq, id, e.SenderID, e.MessageType, content.Text, content.Encoding, content.Packed,
			row.ext, pgText(e.ClientMessageID), e.ClientTimestamp, e.ServerTimestamp, e.AdjustedTimestamp,
			row.replyTo, e.Erased)
	case events.MessageRecalled:
		id, err := messageOf(ev, e.SessionID, e.MessageID)
		if err != nil {
			return err
		}
		b.Queue(`UPDATE `+messages+` SET recalled = true, content = '',
			content_encoding = '`+readmodels.ContentPlain+`', content_packed = NULL, ext = NULL, edited_at = 0
			WHERE message_id = $1 AND session_id = $2`, id, e.SessionID)
		b.Queue(`DELETE FROM `+reactions+` r USING `+messages+` m
			WHERE r.message_id = $1 AND m.message_id = $1 AND m.session_id = $2`, id, e.SessionID)
	case events.MessageEdited:
		edit, err := h.editOf(ev, e)
		if err != nil {
			return err
		}
		if e.Erased {
			b.Queue(`UPDATE `+messages+` SET `+erasedRow+`, edited_at = $3
				WHERE message_id = $1 AND session_id = $2 AND NOT recalled`,
				edit.id, e.SessionID, e.EditedAt)
			break
		}
		// An erased row keeps its empty content; edited_at, which the log
		// keeps in clear, moves whether the edit came before or after the
		// erasure, so that the outcome does not depend on their order.
		b.Queue(`UPDATE `+messages+` SET content = CASE WHEN erased THEN '' ELSE $3 END,
				content_encoding = CASE WHEN erased THEN '`+readmodels.ContentPlain+`' ELSE $4 END,
				content_packed = CASE WHEN erased THEN NULL ELSE $5::bytea END, edited_at = $6
			WHERE message_id = $1 AND session_id = $2 AND NOT recalled`,
			edit.id, e.SessionID, edit.content.Text, edit.content.Encoding, edit.content.Packed, e.EditedAt)
	case events.ReactionAdded:
		id, err := messageOf(ev, e.SessionID, e.MessageID)
		if err != nil {
			return err
		}
		b.Queue(`INSERT INTO `+reactions+` (message_id, emoji, user_id, version)
			SELECT m.message_id, $3, $4, $5 FROM `+messages+` m
			WHERE m.message_id = $1 AND m.session_id = $2 AND NOT m.recalled
			ON CONFLICT DO NOTHING`, id, e.SessionID, pgText(e.Emoji), e.UserID, ev.Version)
	case events.ReactionRemoved:
		id, err := messageOf(ev, e.SessionID, e.MessageID)
		if err != nil {
			return err
		}
		b.Queue(`DELETE FROM `+reactions+` r USING `+messages+` m
			WHERE r.message_id = $1 AND r.emoji = $3 AND r.user_id = $4
				AND m.message_id = $1 AND m.session_id = $2`, id, e.SessionID, pgText(e.Emoji), e.UserID)
	case events.MessagesExpired:
		if err := checkStream(ev, e.SessionID); err != nil {
			return err
		}
		b.Queue(`DELETE FROM `+reactions+` r USING `+messages+` m
			WHERE m.session_id = $1 AND m.seq <= $2 AND r.message_id = m.message_id`, e.SessionID, e.UpToSeq)
		b.Queue(`DELETE FROM `+messages+` WHERE session_id = $1 AND seq <= $2`, e.SessionID, e.UpToSeq)
	case events.UserErased:
		if err := checkUserStream(ev, e.UserID); err != nil {
			return err
		}
		b.Queue(`UPDATE `+messages+` SET `+erasedRow+` WHERE sender_id = $1`, e.UserID)
	}
	return nil
}

// erasedRow is the SET list that erases a row of rm_messages: what the
// message said goes (content and ext), what the log keeps in clear stays
// (ids, seq, timestamps, edited_at, reply_to, reactions).
const erasedRow = `erased = true, content = '', content_encoding = '` + readmodels.ContentPlain + `',
	content_packed = NULL, ext = NULL`

// checkUserStream refuses a UserErased stored in another stream than the
// user's own.
func checkUserStream(ev events.RecordedEvent, userID string) error {
	if ev.StreamID != events.UserStreamPrefix+userID {
		return fmt.Errorf("payload names user %q but is stored in stream %q", userID, ev.StreamID)
	}
	return checkText("user id", userID)
}

// messageOf checks the session an event names and parses the id of the
// message it changes.
func messageOf(ev events.RecordedEvent, sessionID, messageID string) (uuid.UUID, error) {
	if err := checkStream(ev, sessionID); err != nil {
		return uuid.UUID{}, err
	}
	id, err := uuid.Parse(messageID)
	if err != nil {
		return uuid.UUID{}, fmt.Errorf("message id %q: %w", messageID, err)
	}
	return id, nil
}

// editRow is what the history projection derives from a MessageEdited.
type editRow struct {
	id      uuid.UUID
	content readmodels.StoredContent
}

// editOf checks a MessageEdited and stores its content as a send's is
// stored.
func (h *historyProjection) editOf(ev events.RecordedEvent, e events.MessageEdited) (editRow, error) {
	id, err := messageOf(ev, e.SessionID, e.MessageID)
	if err != nil {
		return editRow{}, err
	}
	if e.Erased {
		e.Content = ""
	}
	content, err := h.content.Pack(pgText(e.Content))
	if err != nil {
		return editRow{}, fmt.Errorf("edit of message %s: %w", e.MessageID, err)
	}
	return editRow{id: id, content: content}, nil
}
