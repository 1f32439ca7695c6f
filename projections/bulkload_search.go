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
)

// searchLoad folds MessageSent, MessageEdited and MessageRecalled into
// rm_search rows. As historyLoad, it keeps the latest messages in memory,
// where an edit or a recall becomes the row's body or flag, and writes the
// older ones in chunks of copyRows. The edits and recalls of messages
// written already are folded per message and applied, as Apply's
// statements would, once the copy has its indexes.
//
// It assumes what the domain guarantees, message ids and a session's seqs
// unique; when the log breaks that, building the unique indexes fails and
// the rebuild replays through Apply.
type searchLoad struct {
	table    string
	copyRows int

	rows []searchRow
	// at indexes rows by message id.
	at map[uuid.UUID]int
	// pending folds the edits and recalls of messages not in rows, per
	// message and the session they named.
	pending map[uuid.UUID][]*searchChange
	// expired holds the expiries, for the rows written before them.
	expired expiries
	// erasures erase the rows written before a UserErased.
	erasures loadErasures
}

// searchRow is one rm_search row but its generated tsvector.
type searchRow struct {
	session, sender, body string
	id                    uuid.UUID
	seq, serverTs         int64
	recalled              bool
}

// searchChange is the effect of a message's edits and recalls in log
// order: the latest body of an edit made before any recall, and whether
// a recall came.
type searchChange struct {
	session  string
	body     *string
	recalled bool
}

func searchColumns() []string {
	return []string{"session_id", "seq", "message_id", "sender_id", "server_ts", "body", "recalled"}
}

func (searchProjection) newBulkLoad(tables TableNames, copyRows int) bulkLoad {
	return &searchLoad{table: tables.name("rm_search"), copyRows: copyRows,
		at: map[uuid.UUID]int{}, pending: map[uuid.UUID][]*searchChange{}, expired: expiries{}}
}

func (l *searchLoad) add(ev events.RecordedEvent, env events.Envelope) error {
	switch e := env.Payload.(type) {
	case events.MessageSent:
		id, err := loadTarget(ev, e.SessionID, e.MessageID)
		if err != nil {
			return err
		}
		if err := checkText("sender id", e.SenderID); err != nil {
			return err
		}
		// Edits and recalls logged before their message matched no row
		// when they were applied: they must not touch the row written now.
		delete(l.pending, id)
		l.at[id] = len(l.rows)
		l.rows = append(l.rows, searchRow{session: e.SessionID, sender: e.SenderID, body: searchBody(e.Content, e.Erased),
			id: id, seq: e.Seq, serverTs: e.ServerTimestamp, recalled: e.Erased})
	case events.MessageEdited:
		id, err := loadTarget(ev, e.SessionID, e.MessageID)
		if err != nil {
			return err
		}
		body := searchBody(e.Content, e.Erased)
		if i, ok := l.at[id]; ok {
			if m := &l.rows[i]; m.session == e.SessionID && !m.recalled {
				m.body, m.recalled = body, e.Erased
			}
			return nil
		}
		if c := l.change(id, e.SessionID); !c.recalled {
			// An erased edit ends the row's matching as a recall does.
			c.body, c.recalled = &body, e.Erased
		}
	case events.MessageRecalled:
		id, err := loadTarget(ev, e.SessionID, e.MessageID)
		if err != nil {
			return err
		}
		if i, ok := l.at[id]; ok {
			if m := &l.rows[i]; m.session == e.SessionID {
				m.recalled, m.body = true, ""
			}
			return nil
		}
		l.change(id, e.SessionID).recalled = true
	case events.MessagesExpired:
		if err := l.expired.add(ev, e); err != nil {
			return err
		}
		l.rows = dropExpired(l.rows, l.at, e, func(m searchRow) (string, int64, uuid.UUID) { return m.session, m.seq, m.id })
	case events.UserErased:
		if err := checkUserStream(ev, e.UserID); err != nil {
			return err
		}
		for i := range l.rows {
			if m := &l.rows[i]; m.sender == e.UserID {
				m.recalled, m.body = true, ""
			}
		}
		l.erasures.add(e.UserID)
	}
	return nil
}

// searchErased is the SET list that erases rm_search rows.
const searchErased = `recalled = true, body = ''`

func (l *searchLoad) change(id uuid.UUID, session string) *searchChange {
	for _, c := range l.pending[id] {
		if c.session == session {
			return c
		}
	}
	c := &searchChange{session: session}
	l.pending[id] = append(l.pending[id], c)
	return c
}

// spill keeps the latest copyRows messages in memory and hands the older
// ones to w once there are copyRows of those.
func (l *searchLoad) spill(w *rowWriter) error {
	if err := l.erasures.write(w, l.table, searchErased); err != nil {
		return err
	}
	if len(l.rows) < 2*l.copyRows {
		return nil
	}
	return l.handOff(w, len(l.rows)-l.copyRows)
}

func (l *searchLoad) finish(w *rowWriter) error {
	if err := l.erasures.write(w, l.table, searchErased); err != nil {
		return err
	}
	return l.handOff(w, len(l.rows))
}

// handOff hands the oldest n rows to w; edits and recalls of them are
// pending from then on.
func (l *searchLoad) handOff(w *rowWriter, n int) error {
	out, values := l.rows[:n], make([]any, len(searchColumns()))
	l.rows = slices.Clone(l.rows[n:])
	clear(l.at)
	for i, m := range l.rows {
		l.at[m.id] = i
	}
	return w.write(func(ctx context.Context, conn *pgxpool.Conn) error {
		return copyRows(ctx, conn, l.table, searchColumns(), len(out), l.copyRows, func(i int) []any {
			m := &out[i]
			values[0], values[1], values[2], values[3] = m.session, m.seq, pgtype.UUID{Bytes: m.id, Valid: true}, m.sender
			values[4], values[5], values[6] = m.serverTs, m.body, m.recalled
			return values
		})
	})
}

// afterIndexes deletes the expired rows written before their expiry, then
// applies the pending changes through the unique index on message_id, as
// Apply's statements do: an edit only to a row not recalled, a recall to
// any.
func (l *searchLoad) afterIndexes(ctx context.Context, conn *pgxpool.Conn) error {
	if err := l.expired.deleteExpired(ctx, conn, l.table); err != nil {
		return err
	}
	var ids []pgtype.UUID
	var sessions []string
	var bodies []*string
	var recalls []bool
	for id, changes := range l.pending {
		for _, c := range changes {
			ids = append(ids, pgtype.UUID{Bytes: id, Valid: true})
			sessions, bodies, recalls = append(sessions, c.session), append(bodies, c.body), append(recalls, c.recalled)
		}
	}
	clear(l.pending)
	for lo := 0; lo < len(ids); lo += pendingChunk {
		hi := min(len(ids), lo+pendingChunk)
		err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, "SET LOCAL synchronous_commit = off"); err != nil {
				return fmt.Errorf("change without waiting for each commit: %w", err)
			}
			_, err := tx.Exec(ctx, `UPDATE `+pgx.Identifier{l.table}.Sanitize()+` AS m SET
					body = CASE WHEN c.recalled THEN '' ELSE c.body END,
					recalled = c.recalled
				FROM unnest($1::uuid[], $2::text[], $3::text[], $4::bool[]) AS c(id, sid, body, recalled)
				WHERE m.message_id = c.id AND m.session_id = c.sid AND NOT m.recalled`,
				ids[lo:hi], sessions[lo:hi], bodies[lo:hi], recalls[lo:hi])
			return err
		})
		if err != nil {
			return fmt.Errorf("apply edits and recalls %d to %d of messages written before them: %w", lo, hi, err)
		}
	}
	return nil
}
