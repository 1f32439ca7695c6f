package projections

import (
	"cmp"
	"fmt"
	"maps"
	"math"
	"slices"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/tellyou/tellyou/events"
	"github.com/tellyou/tellyou/readmodels"
)

// Coalescing: a batch of events usually holds long runs of messages and
// acks. Written one statement per event, PostgreSQL spends most of a batch on
// per-statement work; written as one statement per run (rows passed as
// arrays, watermarks folded to their maximum), a batch costs a handful of
// statements whatever its size. Runs keep the log's order: an event that
// cannot join a run ends it, the run's statements are queued, then the
// event's own.

// Coalescer is a Projection that can write runs of consecutive events with
// fewer statements than one per event. Its Apply must still handle every
// event: it is used for events that cannot join a run, and for every event
// when a batch is retried to find which event a failing statement belongs to.
type Coalescer interface {
	// NewRun returns an empty run writing to tables.
	NewRun(tables TableNames) Run
}

// Run collects consecutive events and writes them together.
type Run interface {
	// Add takes ev into the run and reports true, or reports false when its
	// type cannot join a run. An error means the event cannot be applied; the
	// run is then as it was.
	Add(ev events.RecordedEvent, env events.Envelope) (bool, error)
	// Flush queues the statements of the events added since the last Flush.
	Flush(b *pgx.Batch)
}

// historyRun inserts the rm_messages rows of a run of MessageSent events in
// one statement.
type historyRun struct {
	h     *historyProjection
	table string

	sessions, senders, contents, encodings, clientIDs []string
	seqs, clientTs, serverTs, adjustedTs              []int64
	ids                                               []pgtype.UUID
	types                                             []int32
	packed                                            [][]byte
	exts                                              []*string
	replyTos                                          []pgtype.UUID
	erased                                            []bool
}

func (h *historyProjection) NewRun(tables TableNames) Run {
	return &historyRun{h: h, table: tables.Of("rm_messages")}
}

func (r *historyRun) Add(ev events.RecordedEvent, env events.Envelope) (bool, error) {
	e, ok := env.Payload.(events.MessageSent)
	if !ok {
		return false, nil
	}
	row, err := r.h.messageRow(ev, e)
	if err != nil {
		return false, err
	}
	r.sessions = append(r.sessions, e.SessionID)
	r.seqs = append(r.seqs, e.Seq)
	r.ids = append(r.ids, pgtype.UUID{Bytes: row.id, Valid: true})
	r.senders = append(r.senders, e.SenderID)
	r.types = append(r.types, int32(e.MessageType))
	r.contents = append(r.contents, row.content.Text)
	r.encodings = append(r.encodings, row.content.Encoding)
	r.packed = append(r.packed, row.content.Packed)
	var ext *string
	if j := row.ext; j != nil {
		s := string(j)
		ext = &s
	}
	r.exts = append(r.exts, ext)
	r.clientIDs = append(r.clientIDs, pgText(e.ClientMessageID))
	r.clientTs = append(r.clientTs, e.ClientTimestamp)
	r.serverTs = append(r.serverTs, e.ServerTimestamp)
	r.adjustedTs = append(r.adjustedTs, e.AdjustedTimestamp)
	r.replyTos = append(r.replyTos, row.replyTo)
	r.erased = append(r.erased, e.Erased)
	return true, nil
}

func (r *historyRun) Flush(b *pgx.Batch) {
	if len(r.sessions) == 0 {
		return
	}
	b.Queue(`INSERT INTO `+r.table+` (session_id, seq, message_id, sender_id, message_type, content,
			content_encoding, content_packed, ext, client_message_id, client_ts, server_ts, adjusted_ts, recalled,
			reply_to, erased)
		SELECT s, q, m, snd, t, c, enc, p, x::json, cid, cts, sts, ats, false, rt, er
		FROM unnest($1::text[], $2::bigint[], $3::uuid[], $4::text[], $5::int[], $6::text[], $7::text[],
			$8::bytea[], $9::text[], $10::text[], $11::bigint[], $12::bigint[], $13::bigint[], $14::uuid[], $15::bool[])
			AS r(s, q, m, snd, t, c, enc, p, x, cid, cts, sts, ats, rt, er)
		ON CONFLICT DO NOTHING`,
		r.sessions, r.seqs, r.ids, r.senders, r.types, r.contents, r.encodings, r.packed, r.exts,
		r.clientIDs, r.clientTs, r.serverTs, r.adjustedTs, r.replyTos, r.erased)
	*r = historyRun{h: r.h, table: r.table}
}

// sessionsRun folds a run of MessageSent, MessagesReceived and MessagesRead
// events into their effect: each session's highest seq (with its server time)
// and each member's highest received and read watermarks. Every one of them
// only moves forward, so their order within the run does not matter; the
// membership events, whose order does, end a run.
type sessionsRun struct {
	sessions, members string

	last     map[string]lastMessage
	received map[memberKey]int64
	read     map[memberKey]int64
}

type lastMessage struct{ seq, at int64 }

type memberKey struct{ session, user string }

func (sessionsProjection) NewRun(tables TableNames) Run {
	return &sessionsRun{sessions: tables.Of("rm_sessions"), members: tables.Of("rm_members"),
		last: map[string]lastMessage{}, received: map[memberKey]int64{}, read: map[memberKey]int64{}}
}

func (r *sessionsRun) Add(ev events.RecordedEvent, env events.Envelope) (bool, error) {
	switch e := env.Payload.(type) {
	case events.MessageSent:
		if err := checkStream(ev, e.SessionID); err != nil {
			return false, err
		}
		if cur, ok := r.last[e.SessionID]; !ok || e.Seq > cur.seq {
			r.last[e.SessionID] = lastMessage{e.Seq, e.ServerTimestamp}
		}
	case events.MessagesReceived:
		if err := checkStream(ev, e.SessionID); err != nil {
			return false, err
		}
		k := memberKey{e.SessionID, e.UserID}
		r.received[k] = max(r.received[k], e.UpToSeq)
	case events.MessagesRead:
		if err := checkStream(ev, e.SessionID); err != nil {
			return false, err
		}
		k := memberKey{e.SessionID, e.UserID}
		r.read[k] = max(r.read[k], e.UpToSeq)
	default:
		return false, nil
	}
	return true, nil
}

func (r *sessionsRun) Flush(b *pgx.Batch) {
	if len(r.last) > 0 {
		ids := slices.Sorted(maps.Keys(r.last))
		seqs, ats := make([]int64, len(ids)), make([]int64, len(ids))
		for i, id := range ids {
			seqs[i], ats[i] = r.last[id].seq, r.last[id].at
		}
		b.Queue(`UPDATE `+r.sessions+` AS s SET last_seq = GREATEST(s.last_seq, r.seq),
				last_activity = CASE WHEN r.seq > s.last_seq THEN r.at ELSE s.last_activity END
			FROM unnest($1::text[], $2::bigint[], $3::bigint[]) AS r(id, seq, at)
			WHERE s.session_id = r.id`, ids, seqs, ats)
		clear(r.last)
	}
	r.flushWatermarks(b, "received_seq", r.received)
	r.flushWatermarks(b, "read_seq", r.read)
}

func (r *sessionsRun) flushWatermarks(b *pgx.Batch, column string, marks map[memberKey]int64) {
	if len(marks) == 0 {
		return
	}
	keys := slices.SortedFunc(maps.Keys(marks), func(a, b memberKey) int {
		return cmp.Or(cmp.Compare(a.session, b.session), cmp.Compare(a.user, b.user))
	})
	sessions, users, seqs := make([]string, len(keys)), make([]string, len(keys)), make([]int64, len(keys))
	for i, k := range keys {
		sessions[i], users[i], seqs[i] = k.session, k.user, marks[k]
	}
	b.Queue(`UPDATE `+r.members+` AS m SET `+column+` = GREATEST(m.`+column+`, r.seq)
		FROM unnest($1::text[], $2::text[], $3::bigint[]) AS r(sid, uid, seq)
		WHERE m.session_id = r.sid AND m.user_id = r.uid`, sessions, users, seqs)
	clear(marks)
}

// messageRow is what the history projection derives from a MessageSent before
// writing its row.
type messageRow struct {
	id      uuid.UUID
	content readmodels.StoredContent
	// ext is the row's ext: nil for none, and for an erased message.
	ext []byte
	// replyTo is the message it answers; NULL for none, and for a replyTo
	// that is not a UUID: no message has that id.
	replyTo pgtype.UUID
}

// messageRow checks a MessageSent and prepares its row.
func (h *historyProjection) messageRow(ev events.RecordedEvent, e events.MessageSent) (messageRow, error) {
	if err := checkStream(ev, e.SessionID); err != nil {
		return messageRow{}, err
	}
	id, err := uuid.Parse(e.MessageID)
	if err != nil {
		return messageRow{}, fmt.Errorf("message id %q: %w", e.MessageID, err)
	}
	if e.MessageType < math.MinInt32 || e.MessageType > math.MaxInt32 {
		return messageRow{}, fmt.Errorf("message type %d out of range", e.MessageType)
	}
	if e.Erased {
		// Opening gives erased content as "", but the row must not depend
		// on what an opener leaves in Content.
		e.Content, e.Ext = "", nil
	}
	content, err := h.content.Pack(pgText(e.Content))
	if err != nil {
		return messageRow{}, fmt.Errorf("message %s: %w", e.MessageID, err)
	}
	row := messageRow{id: id, content: content, ext: pgJSON(e.Ext)}
	if e.ReplyTo != "" {
		if to, err := uuid.Parse(e.ReplyTo); err == nil {
			row.replyTo = pgtype.UUID{Bytes: to, Valid: true}
		}
	}
	return row, nil
}
