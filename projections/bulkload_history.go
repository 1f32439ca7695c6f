package projections

import (
	"context"
	"slices"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/tellyou/tellyou/events"
	"github.com/tellyou/tellyou/readmodels"
)

// pendingChunk bounds the messages of one statement of
// historyLoad.afterIndexes.
const pendingChunk = 5000

// historyLoad folds the history projection's events into rm_messages and
// rm_reactions rows. The latest messages are kept in memory, the older ones
// written in chunks of copyRows, with their reactions; a recall, edit or
// reaction of a message still in memory is folded into its row, one of a
// message written already (or not logged yet) is folded into its
// pendingChanges and applied, with the others, once the copies have their
// indexes.
//
// It assumes what the domain guarantees: message ids are unique and a
// session's seqs are too. When the log breaks that, building the copy's
// unique indexes fails, and the rebuild replays through Apply, which skips
// the later duplicates (refusedRows).
type historyLoad struct {
	h         *historyProjection
	table     string
	reactions string
	copyRows  int

	rows []bulkMessage
	// at indexes rows by message id.
	at map[uuid.UUID]int
	// pending holds the changes of messages not in rows: by message id, then
	// by the session the events named.
	pending map[uuid.UUID]map[string]*pendingChanges
	// expired holds the expiries, for the rows written before them.
	expired expiries
	// erasures erase the rows written before a UserErased.
	erasures loadErasures

	columns []string
}

// bulkMessage is one rm_messages row with its rm_reactions rows.
type bulkMessage struct {
	session, sender, clientID                     string
	id                                            uuid.UUID
	seq, clientTs, serverTs, adjustedTs, editedAt int64
	messageType                                   int32
	content                                       readmodels.StoredContent
	ext                                           []byte
	recalled, erased                              bool
	replyTo                                       pgtype.UUID
	// reactions are the message's in the order they were added.
	reactions []bulkReaction
}

// bulkReaction is one rm_reactions row of a bulkMessage.
type bulkReaction struct {
	emoji, user string
	version     int64
}

// messageColumns returns the columns historyLoad writes, in the order of
// bulkMessage.values.
func messageColumns() []string {
	return []string{"session_id", "seq", "message_id", "sender_id", "message_type", "content",
		"content_encoding", "content_packed", "ext", "client_message_id", "client_ts", "server_ts", "adjusted_ts", "recalled",
		"edited_at", "reply_to", "erased"}
}

// reactionColumns are the rm_reactions columns historyLoad writes.
var reactionColumns = []string{"message_id", "emoji", "user_id", "version"}

func (h *historyProjection) newBulkLoad(tables TableNames, copyRows int) bulkLoad {
	return &historyLoad{h: h, table: tables.name("rm_messages"), reactions: tables.name("rm_reactions"),
		copyRows: copyRows, at: map[uuid.UUID]int{}, pending: map[uuid.UUID]map[string]*pendingChanges{},
		expired: expiries{}, columns: messageColumns()}
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
		// Changes logged before their message matched no row when they
		// were applied: they must not touch the row written now.
		delete(l.pending, row.id)
		l.at[row.id] = len(l.rows)
		l.rows = append(l.rows, bulkMessage{session: e.SessionID, sender: e.SenderID,
			clientID: pgText(e.ClientMessageID), id: row.id, seq: e.Seq, clientTs: e.ClientTimestamp,
			serverTs: e.ServerTimestamp, adjustedTs: e.AdjustedTimestamp, messageType: int32(e.MessageType),
			content: row.content, ext: row.ext, replyTo: row.replyTo, erased: e.Erased})
	case events.MessageRecalled:
		id, err := loadTarget(ev, e.SessionID, e.MessageID)
		if err != nil {
			return err
		}
		if m, held := l.held(id, e.SessionID); held {
			if m != nil {
				m.recalled, m.content, m.ext = true, readmodels.StoredContent{Encoding: readmodels.ContentPlain}, nil
				m.editedAt, m.reactions = 0, nil
			}
			return nil
		}
		l.pendingFor(id, e.SessionID).recall()
	case events.MessageEdited:
		edit, err := l.h.editOf(ev, e)
		if err != nil {
			return err
		}
		if err := checkText("session id", e.SessionID); err != nil {
			return err
		}
		if m, held := l.held(edit.id, e.SessionID); held {
			if m != nil && !m.recalled {
				m.content, m.editedAt = edit.content, e.EditedAt
				if m.erased || e.Erased {
					m.erase()
				}
			}
			return nil
		}
		l.pendingFor(edit.id, e.SessionID).edit(edit.content, e.EditedAt, e.Erased)
	case events.ReactionAdded:
		id, err := l.reactionTarget(ev, e.SessionID, e.MessageID, e.UserID)
		if err != nil {
			return err
		}
		r := bulkReaction{emoji: pgText(e.Emoji), user: e.UserID, version: ev.Version}
		if m, held := l.held(id, e.SessionID); held {
			if m != nil && !m.recalled && !slices.ContainsFunc(m.reactions, r.same) {
				m.reactions = append(m.reactions, r)
			}
			return nil
		}
		l.pendingFor(id, e.SessionID).react(r)
	case events.ReactionRemoved:
		id, err := l.reactionTarget(ev, e.SessionID, e.MessageID, e.UserID)
		if err != nil {
			return err
		}
		r := bulkReaction{emoji: pgText(e.Emoji), user: e.UserID}
		if m, held := l.held(id, e.SessionID); held {
			if m != nil {
				m.reactions = slices.DeleteFunc(m.reactions, r.same)
			}
			return nil
		}
		l.pendingFor(id, e.SessionID).unreact(r)
	case events.MessagesExpired:
		if err := l.expired.add(ev, e); err != nil {
			return err
		}
		l.rows = dropExpired(l.rows, l.at, e, func(m bulkMessage) (string, int64, uuid.UUID) { return m.session, m.seq, m.id })
	case events.UserErased:
		if err := checkUserStream(ev, e.UserID); err != nil {
			return err
		}
		for i := range l.rows {
			if l.rows[i].sender == e.UserID {
				l.rows[i].erase()
			}
		}
		l.erasures.add(e.UserID)
	}
	return nil
}

// erase empties what the message said, as erasedRow does.
func (m *bulkMessage) erase() {
	m.erased, m.content, m.ext = true, readmodels.StoredContent{Encoding: readmodels.ContentPlain}, nil
}

// loadTarget checks, for a bulk load, an event that changes message
// messageID of its session, as Apply does and as PostgreSQL would refuse its
// parameters, and parses the message id.
func loadTarget(ev events.RecordedEvent, sessionID, messageID string) (uuid.UUID, error) {
	id, err := messageOf(ev, sessionID, messageID)
	if err != nil {
		return uuid.UUID{}, err
	}
	return id, checkText("session id", sessionID)
}

// reactionTarget is target for a reaction's event, which passes the user id
// to PostgreSQL too.
func (l *historyLoad) reactionTarget(ev events.RecordedEvent, sessionID, messageID, userID string) (uuid.UUID, error) {
	id, err := loadTarget(ev, sessionID, messageID)
	if err != nil {
		return uuid.UUID{}, err
	}
	return id, checkText("user id", userID)
}

// held reports whether message id is in memory, and returns its row when it
// is a message of session (nil when it is another session's, which no event
// of session changes).
func (l *historyLoad) held(id uuid.UUID, session string) (*bulkMessage, bool) {
	i, ok := l.at[id]
	if !ok {
		return nil, false
	}
	if m := &l.rows[i]; m.session == session {
		return m, true
	}
	return nil, true
}

// pendingFor returns the pending changes of message id named by session's
// events, creating them.
func (l *historyLoad) pendingFor(id uuid.UUID, session string) *pendingChanges {
	bySession := l.pending[id]
	if bySession == nil {
		bySession = map[string]*pendingChanges{}
		l.pending[id] = bySession
	}
	p := bySession[session]
	if p == nil {
		p = &pendingChanges{}
		bySession[session] = p
	}
	return p
}

// same reports whether o is r's user's reaction with r's emoji.
func (r bulkReaction) same(o bulkReaction) bool { return r.emoji == o.emoji && r.user == o.user }

// spill keeps the latest copyRows messages in memory, where the changes of
// one of them are folded into its row, and hands the older ones to w once
// there are copyRows of those.
func (l *historyLoad) spill(w *rowWriter) error {
	if err := l.erasures.write(w, l.table, erasedRow); err != nil {
		return err
	}
	if len(l.rows) < 2*l.copyRows {
		return nil
	}
	return l.handOff(w, len(l.rows)-l.copyRows)
}

func (l *historyLoad) finish(w *rowWriter) error {
	if err := l.erasures.write(w, l.table, erasedRow); err != nil {
		return err
	}
	return l.handOff(w, len(l.rows))
}

// handOff hands the oldest n rows, and their reactions, to w; changes of
// them are pending from then on.
func (l *historyLoad) handOff(w *rowWriter, n int) error {
	out, values := l.rows[:n], make([]any, len(l.columns))
	l.rows = slices.Clone(l.rows[n:]) // out is the writer's now
	clear(l.at)
	for i, m := range l.rows {
		l.at[m.id] = i
	}
	var reactions []reactionRow
	for i := range out {
		for _, r := range out[i].reactions {
			reactions = append(reactions, reactionRow{id: out[i].id, bulkReaction: r})
		}
	}
	return w.write(func(ctx context.Context, conn *pgxpool.Conn) error {
		err := copyRows(ctx, conn, l.table, l.columns, len(out), l.copyRows, func(i int) []any {
			return out[i].values(values)
		})
		if err != nil {
			return err
		}
		rv := make([]any, len(reactionColumns))
		return copyRows(ctx, conn, l.reactions, reactionColumns, len(reactions), l.copyRows, func(i int) []any {
			r := &reactions[i]
			rv[0], rv[1], rv[2], rv[3] = pgtype.UUID{Bytes: r.id, Valid: true}, r.emoji, r.user, r.version
			return rv
		})
	})
}

// reactionRow is one rm_reactions row.
type reactionRow struct {
	id uuid.UUID
	bulkReaction
}

// values fills v with the row's column values.
func (m *bulkMessage) values(v []any) []any {
	v[0], v[1], v[2], v[3], v[4] = m.session, m.seq, pgtype.UUID{Bytes: m.id, Valid: true}, m.sender, m.messageType
	v[5], v[6], v[7], v[8] = m.content.Text, m.content.Encoding, m.content.Packed, m.ext
	v[9], v[10], v[11], v[12], v[13] = m.clientID, m.clientTs, m.serverTs, m.adjustedTs, m.recalled
	v[14], v[15], v[16] = m.editedAt, m.replyTo, m.erased
	return v
}
