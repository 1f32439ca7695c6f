package projections

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/tellyou/tellyou/readmodels"
)

// pendingChanges are the changes the events of one session logged for a
// message that historyLoad no longer holds in memory (or does not hold yet),
// folded to their outcome. A recall wipes the changes before it and makes
// the later ones no-ops, as Apply's statements do on a recalled row; the
// statements of afterIndexes match the message by id and session, as Apply's
// do, so they change nothing when the session holds no such message.
type pendingChanges struct {
	recalled bool
	// edited tells an edit came; content and editedAt are the latest one's.
	edited   bool
	content  readmodels.StoredContent
	editedAt int64
	// erased tells an edit arrived erased: the row is erased from then
	// on, and later edits move only its edited_at, as Apply's do.
	erased bool
	// reactions are the outcome of the adds and removes of each user's
	// emoji, in the order first named.
	reactions []pendingReaction
}

// pendingReaction is the outcome of the adds and removes of one user's
// emoji on a message.
type pendingReaction struct {
	bulkReaction
	// present: the last of them was an add; version is the version of the
	// add that made the reaction present.
	present bool
	// replaces: a remove came before that add, so the reaction takes the
	// add's version even if the written row had it already. Without one,
	// the add keeps a reaction the written row had as it was, as Apply's
	// INSERT ... ON CONFLICT DO NOTHING does.
	replaces bool
}

func (p *pendingChanges) recall() {
	*p = pendingChanges{recalled: true}
}

func (p *pendingChanges) edit(content readmodels.StoredContent, editedAt int64, erased bool) {
	if !p.recalled {
		p.edited, p.content, p.editedAt, p.erased = true, content, editedAt, p.erased || erased
	}
}

func (p *pendingChanges) react(r bulkReaction) {
	if p.recalled {
		return
	}
	cur := p.reaction(r)
	switch {
	case cur == nil:
		p.reactions = append(p.reactions, pendingReaction{bulkReaction: r, present: true})
	case !cur.present:
		*cur = pendingReaction{bulkReaction: r, present: true, replaces: true}
	}
}

func (p *pendingChanges) unreact(r bulkReaction) {
	if p.recalled {
		return
	}
	if cur := p.reaction(r); cur != nil {
		*cur = pendingReaction{bulkReaction: r}
	} else {
		p.reactions = append(p.reactions, pendingReaction{bulkReaction: r})
	}
}

// reaction returns the outcome kept for r's user and emoji, or nil.
func (p *pendingChanges) reaction(r bulkReaction) *pendingReaction {
	for i := range p.reactions {
		if p.reactions[i].same(r) {
			return &p.reactions[i]
		}
	}
	return nil
}

// pendingRows are the pending changes of every message as the parallel
// arrays the statements of afterIndexes take.
type pendingRows struct {
	// edits
	editIDs                    []pgtype.UUID
	editSessions, editContents []string
	editEncodings              []string
	editPacked                 [][]byte
	editedAt                   []int64
	editErased                 []bool
	// reactions, by kind of outcome
	keep, replace, remove reactionArrays
	// recalls
	recallIDs      []pgtype.UUID
	recallSessions []string
}

// reactionArrays are reactions of messages of sessions as parallel arrays.
type reactionArrays struct {
	ids                     []pgtype.UUID
	sessions, emojis, users []string
	versions                []int64
}

func (a *reactionArrays) add(id pgtype.UUID, session string, r bulkReaction) {
	a.ids = append(a.ids, id)
	a.sessions = append(a.sessions, session)
	a.emojis = append(a.emojis, r.emoji)
	a.users = append(a.users, r.user)
	a.versions = append(a.versions, r.version)
}

// pendingRows lays the pending changes out as arrays and forgets them.
func (l *historyLoad) pendingRows() *pendingRows {
	var out pendingRows
	for id, bySession := range l.pending {
		pid := pgtype.UUID{Bytes: id, Valid: true}
		for session, p := range bySession {
			if p.recalled {
				out.recallIDs = append(out.recallIDs, pid)
				out.recallSessions = append(out.recallSessions, session)
				continue
			}
			if p.edited {
				out.editIDs = append(out.editIDs, pid)
				out.editSessions = append(out.editSessions, session)
				out.editContents = append(out.editContents, p.content.Text)
				out.editEncodings = append(out.editEncodings, p.content.Encoding)
				out.editPacked = append(out.editPacked, p.content.Packed)
				out.editedAt = append(out.editedAt, p.editedAt)
				out.editErased = append(out.editErased, p.erased)
			}
			for _, r := range p.reactions {
				switch {
				case !r.present:
					out.remove.add(pid, session, r.bulkReaction)
				case r.replaces:
					out.replace.add(pid, session, r.bulkReaction)
				default:
					out.keep.add(pid, session, r.bulkReaction)
				}
			}
		}
	}
	clear(l.pending)
	return &out
}

// afterIndexes deletes the expired messages written before their expiry,
// with their reactions, then applies the pending changes of messages written
// before them, as Apply's statements do, through the copies' unique indexes
// on message_id: edits, reactions, then recalls (a message with a pending
// recall has no other pending change).
func (l *historyLoad) afterIndexes(ctx context.Context, conn *pgxpool.Conn) error {
	messages, reactions := pgx.Identifier{l.table}.Sanitize(), pgx.Identifier{l.reactions}.Sanitize()
	err := l.expired.deleteExpired(ctx, conn, l.table, `DELETE FROM `+reactions+` AS r
		USING unnest($1::text[], $2::bigint[]) AS x(sid, up_to), `+messages+` m
		WHERE m.session_id = x.sid AND m.seq <= x.up_to AND r.message_id = m.message_id`)
	if err != nil {
		return err
	}
	p := l.pendingRows()
	insert := `INSERT INTO ` + reactions + ` (message_id, emoji, user_id, version)
		SELECT m.message_id, r.emoji, r.uid, r.v
		FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::bigint[]) AS r(id, sid, emoji, uid, v)
		JOIN ` + messages + ` m ON m.message_id = r.id AND m.session_id = r.sid AND NOT m.recalled
		ON CONFLICT (message_id, emoji, user_id) DO `
	steps := []struct {
		what string
		n    int
		sql  string
		args func(lo, hi int) []any
	}{
		{"edits", len(p.editIDs), `UPDATE ` + messages + ` AS m SET
				content = CASE WHEN m.erased OR e.er THEN '' ELSE e.c END,
				content_encoding = CASE WHEN m.erased OR e.er THEN '` + readmodels.ContentPlain + `' ELSE e.enc END,
				content_packed = CASE WHEN m.erased OR e.er THEN NULL ELSE e.p END,
				ext = CASE WHEN m.erased OR e.er THEN NULL ELSE m.ext END,
				edited_at = e.at, erased = m.erased OR e.er
			FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::bytea[], $6::bigint[], $7::bool[])
				AS e(id, sid, c, enc, p, at, er)
			WHERE m.message_id = e.id AND m.session_id = e.sid AND NOT m.recalled`,
			func(lo, hi int) []any {
				return []any{p.editIDs[lo:hi], p.editSessions[lo:hi], p.editContents[lo:hi],
					p.editEncodings[lo:hi], p.editPacked[lo:hi], p.editedAt[lo:hi], p.editErased[lo:hi]}
			}},
		{"reactions removed", len(p.remove.ids), `DELETE FROM ` + reactions + ` AS x
			USING unnest($1::uuid[], $2::text[], $3::text[], $4::text[]) AS r(id, sid, emoji, uid), ` + messages + ` m
			WHERE x.message_id = r.id AND x.emoji = r.emoji AND x.user_id = r.uid
				AND m.message_id = r.id AND m.session_id = r.sid`,
			p.remove.args(false)},
		{"reactions added", len(p.keep.ids), insert + `NOTHING`, p.keep.args(true)},
		{"reactions added again", len(p.replace.ids), insert + `UPDATE SET version = excluded.version`, p.replace.args(true)},
		{"recalls", len(p.recallIDs), `UPDATE ` + messages + ` AS m SET recalled = true,
				content = '', content_encoding = '` + readmodels.ContentPlain + `', content_packed = NULL, ext = NULL,
				edited_at = 0
			FROM unnest($1::uuid[], $2::text[]) AS r(id, sid)
			WHERE m.message_id = r.id AND m.session_id = r.sid`,
			func(lo, hi int) []any { return []any{p.recallIDs[lo:hi], p.recallSessions[lo:hi]} }},
		{"reactions of recalled messages", len(p.recallIDs), `DELETE FROM ` + reactions + ` AS x
			USING unnest($1::uuid[], $2::text[]) AS r(id, sid), ` + messages + ` m
			WHERE x.message_id = r.id AND m.message_id = r.id AND m.session_id = r.sid`,
			func(lo, hi int) []any { return []any{p.recallIDs[lo:hi], p.recallSessions[lo:hi]} }},
	}
	for _, s := range steps {
		for lo := 0; lo < s.n; lo += pendingChunk {
			hi := min(s.n, lo+pendingChunk)
			err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
				if _, err := tx.Exec(ctx, "SET LOCAL synchronous_commit = off"); err != nil {
					return fmt.Errorf("apply without waiting for each commit: %w", err)
				}
				_, err := tx.Exec(ctx, s.sql, s.args(lo, hi)...)
				return err
			})
			if err != nil {
				return fmt.Errorf("apply %s %d to %d of messages written before them: %w", s.what, lo, hi, err)
			}
		}
	}
	return nil
}

// args returns the arguments of the rows lo to hi, with their versions or
// not.
func (a *reactionArrays) args(withVersions bool) func(lo, hi int) []any {
	return func(lo, hi int) []any {
		args := []any{a.ids[lo:hi], a.sessions[lo:hi], a.emojis[lo:hi], a.users[lo:hi]}
		if withVersions {
			args = append(args, a.versions[lo:hi])
		}
		return args
	}
}
