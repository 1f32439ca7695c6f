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
// it is); MessageRecalled marks the row recalled and erases its content and
// ext, and the row keeps its seq.
//
// Content longer than readmodels.CompressContentAbove is stored compressed
// (readmodels.ContentCodec), in Apply, so a rebuild writes the same bytes as
// the live projection did. The returned projection is safe for concurrent use.
func History() Projection { return &historyProjection{} }

type historyProjection struct {
	content readmodels.ContentCodec
}

func (*historyProjection) Name() string     { return HistoryName }
func (*historyProjection) Tables() []string { return []string{"rm_messages"} }

func (*historyProjection) Handles(eventType string) bool {
	return eventType == events.TypeMessageSent || eventType == events.TypeMessageRecalled
}

func (h *historyProjection) Apply(b *pgx.Batch, tables TableNames, ev events.RecordedEvent, env events.Envelope) error {
	switch e := env.Payload.(type) {
	case events.MessageSent:
		row, err := h.messageRow(ev, e)
		if err != nil {
			return err
		}
		id, content := row.id, row.content
		b.Queue(`INSERT INTO `+tables.Of("rm_messages")+` (session_id, seq, message_id, sender_id,
			message_type, content, content_encoding, content_packed, ext, client_message_id,
			client_ts, server_ts, adjusted_ts, recalled)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, false)
			ON CONFLICT DO NOTHING`,
			e.SessionID, e.Seq, id, e.SenderID, e.MessageType, content.Text, content.Encoding, content.Packed,
			pgJSON(e.Ext), pgText(e.ClientMessageID), e.ClientTimestamp, e.ServerTimestamp, e.AdjustedTimestamp)
	case events.MessageRecalled:
		if err := checkStream(ev, e.SessionID); err != nil {
			return err
		}
		id, err := uuid.Parse(e.MessageID)
		if err != nil {
			return fmt.Errorf("message id %q: %w", e.MessageID, err)
		}
		b.Queue(`UPDATE `+tables.Of("rm_messages")+` SET recalled = true, content = '',
			content_encoding = '`+readmodels.ContentPlain+`', content_packed = NULL, ext = NULL
			WHERE message_id = $1 AND session_id = $2`, id, e.SessionID)
	}
	return nil
}
