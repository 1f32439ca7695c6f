package projections

import (
	"context"
	"fmt"
	"slices"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/tellyou/tellyou/events"
	"github.com/tellyou/tellyou/readmodels"
)

// recallChunk bounds the recalls of one statement of historyLoad.afterIndexes.
const recallChunk = 5000

// historyLoad folds MessageSent and MessageRecalled into rm_messages rows.
// The latest messages are kept in memory, the older ones written in chunks
// of copyRows; a recall of a message still in memory becomes its row's
// flag, one of a message written already is kept and applied, with the
// others, once the copy has its indexes.
//
// It assumes what the domain guarantees: message ids are unique and a
// session's seqs are too. When the log breaks that, building the copy's
// unique indexes fails, and the rebuild replays through Apply, which skips
// the later duplicates (refusedRows).
type historyLoad struct {
	h        *historyProjection
	table    string
	copyRows int

	rows []bulkMessage
	// at indexes rows by message id.
	at map[uuid.UUID]int
	// pending holds the recalls of messages not in rows: each message id
	// with the sessions its recalls named.
	pending map[uuid.UUID][]string

	columns []string
}

// bulkMessage is one rm_messages row.
type bulkMessage struct {
	session, sender, clientID           string
	id                                  uuid.UUID
	seq, clientTs, serverTs, adjustedTs int64
	messageType                         int32
	content                             readmodels.StoredContent
	ext                                 []byte
	recalled                            bool
}

// messageColumns returns the columns historyLoad writes, in the order of
// bulkMessage.values.
func messageColumns() []string {
	return []string{"session_id", "seq", "message_id", "sender_id", "message_type", "content",
		"content_encoding", "content_packed", "ext", "client_message_id", "client_ts", "server_ts", "adjusted_ts", "recalled"}
}

func (h *historyProjection) newBulkLoad(tables TableNames, copyRows int) bulkLoad {
	return &historyLoad{h: h, table: tables.name("rm_messages"), copyRows: copyRows,
		at: map[uuid.UUID]int{}, pending: map[uuid.UUID][]string{},
		columns: messageColumns()}
}

func (l *historyLoad) add(ev events.RecordedEvent, env events.Envelope) error {
	switch e := env.Payload.(type) {
	case events.MessageSent:
		row, err := l.h.messageRow(ev, e)
		if err != nil {
			return err
		}
		if err := checkText("sender id", e.SenderID); err != nil {
			return err
		}
		if err := checkText("session id", e.SessionID); err != nil {
			return err
		}
		// A recall logged before its message matched no row when it was
		// applied: it must not touch the row written now.
		delete(l.pending, row.id)
		l.at[row.id] = len(l.rows)
		l.rows = append(l.rows, bulkMessage{session: e.SessionID, sender: e.SenderID,
			clientID: pgText(e.ClientMessageID), id: row.id, seq: e.Seq, clientTs: e.ClientTimestamp,
			serverTs: e.ServerTimestamp, adjustedTs: e.AdjustedTimestamp, messageType: int32(e.MessageType),
			content: row.content, ext: pgJSON(e.Ext)})
	case events.MessageRecalled:
		if err := checkStream(ev, e.SessionID); err != nil {
			return err
		}
		if err := checkText("session id", e.SessionID); err != nil {
			return err
		}
		id, err := uuid.Parse(e.MessageID)
		if err != nil {
			return fmt.Errorf("message id %q: %w", e.MessageID, err)
		}
		if i, ok := l.at[id]; ok {
			if m := &l.rows[i]; m.session == e.SessionID {
				m.recalled, m.content, m.ext = true, readmodels.StoredContent{Encoding: readmodels.ContentPlain}, nil
			}
			return nil
		}
		l.pending[id] = append(l.pending[id], e.SessionID)
	}
	return nil
}

// spill keeps the latest copyRows messages in memory, where a recall of
// one of them is folded into its row, and hands the older ones to w once
// there are copyRows of those.
func (l *historyLoad) spill(w *rowWriter) error {
	if len(l.rows) < 2*l.copyRows {
		return nil
	}
	return l.handOff(w, len(l.rows)-l.copyRows)
}

func (l *historyLoad) finish(w *rowWriter) error { return l.handOff(w, len(l.rows)) }

// handOff hands the oldest n rows to w; recalls of them come too late from
// then on.
func (l *historyLoad) handOff(w *rowWriter, n int) error {
	out, values := l.rows[:n], make([]any, len(l.columns))
	l.rows = slices.Clone(l.rows[n:]) // out is the writer's now
	clear(l.at)
	for i, m := range l.rows {
		l.at[m.id] = i
	}
	return w.write(func(ctx context.Context, conn *pgxpool.Conn) error {
		return copyRows(ctx, conn, l.table, l.columns, len(out), l.copyRows, func(i int) []any {
			return out[i].values(values)
		})
	})
}

// values fills v with the row's column values.
func (m *bulkMessage) values(v []any) []any {
	v[0], v[1], v[2], v[3], v[4] = m.session, m.seq, pgtype.UUID{Bytes: m.id, Valid: true}, m.sender, m.messageType
	v[5], v[6], v[7], v[8] = m.content.Text, m.content.Encoding, m.content.Packed, m.ext
	v[9], v[10], v[11], v[12], v[13] = m.clientID, m.clientTs, m.serverTs, m.adjustedTs, m.recalled
	return v
}

// afterIndexes applies the recalls of messages written before them, as
// MessageRecalled's statement in Apply does, through the unique index on
// message_id.
func (l *historyLoad) afterIndexes(ctx context.Context, conn *pgxpool.Conn) error {
	var ids []pgtype.UUID
	var sessions []string
	for id, named := range l.pending {
		for _, s := range named {
			ids = append(ids, pgtype.UUID{Bytes: id, Valid: true})
			sessions = append(sessions, s)
		}
	}
	clear(l.pending)
	for lo := 0; lo < len(ids); lo += recallChunk {
		hi := min(len(ids), lo+recallChunk)
		err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, "SET LOCAL synchronous_commit = off"); err != nil {
				return fmt.Errorf("recall without waiting for each commit: %w", err)
			}
			_, err := tx.Exec(ctx, `UPDATE `+pgx.Identifier{l.table}.Sanitize()+` AS m SET recalled = true,
					content = '', content_encoding = '`+readmodels.ContentPlain+`', content_packed = NULL, ext = NULL
				FROM unnest($1::uuid[], $2::text[]) AS r(id, sid)
				WHERE m.message_id = r.id AND m.session_id = r.sid`, ids[lo:hi], sessions[lo:hi])
			return err
		})
		if err != nil {
			return fmt.Errorf("apply recalls %d to %d of messages written before them: %w", lo, hi, err)
		}
	}
	return nil
}
