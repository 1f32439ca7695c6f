package projections

import (
	"cmp"
	"context"
	"maps"
	"slices"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/tellyou/tellyou/events"
)

// sessionsLoad folds the events of the sessions projection into the final
// rm_sessions and rm_members rows, in memory (a row per session and per
// current member), and writes each row once, in key order, at the end.
type sessionsLoad struct {
	sessionsTable, membersTable string
	copyRows                    int

	sessions map[string]*bulkSession
	members  map[memberKey]*bulkMarks
}

// bulkSession is an rm_sessions row but its id.
type bulkSession struct {
	kind, title, owner               string
	createdAt, lastSeq, lastActivity int64
	retentionDays                    *int
	expiredSeq                       int64
}

// bulkMarks are an rm_members row's watermarks and setting.
type bulkMarks struct {
	received, read int64
	muted          bool
}

func (sessionsProjection) newBulkLoad(tables TableNames, copyRows int) bulkLoad {
	return &sessionsLoad{sessionsTable: tables.name("rm_sessions"), membersTable: tables.name("rm_members"),
		copyRows: copyRows, sessions: map[string]*bulkSession{}, members: map[memberKey]*bulkMarks{}}
}

// add does in memory what Apply's statements do in the tables: a session row
// and member rows are created once (later creations leave them), members
// added again keep the higher watermarks, watermarks and a session's last
// seq only move forward, and only on rows that exist at the time.
func (l *sessionsLoad) add(ev events.RecordedEvent, env events.Envelope) error {
	switch e := env.Payload.(type) {
	case events.SessionCreated:
		if err := l.check(ev, e.SessionID, e.Members); err != nil {
			return err
		}
		if err := checkText("kind", e.Kind); err != nil {
			return err
		}
		if err := checkText("owner", e.Owner); err != nil {
			return err
		}
		if _, ok := l.sessions[e.SessionID]; !ok {
			l.sessions[e.SessionID] = &bulkSession{kind: e.Kind, title: pgText(e.Title), owner: e.Owner,
				createdAt: e.CreatedAt, lastActivity: e.CreatedAt}
		}
		for _, u := range e.Members {
			if k := (memberKey{e.SessionID, u}); l.members[k] == nil {
				l.members[k] = &bulkMarks{}
			}
		}
	case events.MembersAdded:
		if err := l.check(ev, e.SessionID, e.Members); err != nil {
			return err
		}
		for _, u := range e.Members {
			k := memberKey{e.SessionID, u}
			if m := l.members[k]; m != nil {
				m.received, m.read = max(m.received, e.AtSeq), max(m.read, e.AtSeq)
			} else {
				l.members[k] = &bulkMarks{received: e.AtSeq, read: e.AtSeq}
			}
		}
	case events.MembersRemoved:
		if err := l.check(ev, e.SessionID, e.Members); err != nil {
			return err
		}
		for _, u := range e.Members {
			delete(l.members, memberKey{e.SessionID, u})
		}
	case events.MessageSent:
		if err := l.check(ev, e.SessionID, nil); err != nil {
			return err
		}
		if s := l.sessions[e.SessionID]; s != nil && e.Seq > s.lastSeq {
			s.lastSeq, s.lastActivity = e.Seq, e.ServerTimestamp
		}
	case events.MessagesReceived:
		if err := l.check(ev, e.SessionID, []string{e.UserID}); err != nil {
			return err
		}
		if m := l.members[memberKey{e.SessionID, e.UserID}]; m != nil {
			m.received = max(m.received, e.UpToSeq)
		}
	case events.MessagesRead:
		if err := l.check(ev, e.SessionID, []string{e.UserID}); err != nil {
			return err
		}
		if m := l.members[memberKey{e.SessionID, e.UserID}]; m != nil {
			m.read = max(m.read, e.UpToSeq)
		}
	case events.MemberSettingsChanged:
		if err := l.check(ev, e.SessionID, []string{e.UserID}); err != nil {
			return err
		}
		if m := l.members[memberKey{e.SessionID, e.UserID}]; m != nil {
			m.muted = e.Muted
		}
	case events.SessionSettingsChanged:
		if err := l.check(ev, e.SessionID, nil); err != nil {
			return err
		}
		if s := l.sessions[e.SessionID]; s != nil {
			s.retentionDays = e.RetentionDays
		}
	case events.MessagesExpired:
		if err := l.check(ev, e.SessionID, nil); err != nil {
			return err
		}
		if s := l.sessions[e.SessionID]; s != nil {
			s.expiredSeq = max(s.expiredSeq, e.UpToSeq)
		}
	}
	return nil
}

// check refuses what Apply refuses or PostgreSQL would: a payload of another
// session than its stream, ids holding U+0000.
func (l *sessionsLoad) check(ev events.RecordedEvent, sessionID string, users []string) error {
	if err := checkStream(ev, sessionID); err != nil {
		return err
	}
	if err := checkText("session id", sessionID); err != nil {
		return err
	}
	return checkTexts("user id", users)
}

// spill writes nothing: a session's rows change until the last event.
func (l *sessionsLoad) spill(*rowWriter) error { return nil }

func (l *sessionsLoad) finish(w *rowWriter) error {
	sessions, members := l.sessions, l.members
	l.sessions, l.members = nil, nil
	return w.write(func(ctx context.Context, conn *pgxpool.Conn) error {
		ids := slices.Sorted(maps.Keys(sessions))
		v := make([]any, 9)
		err := copyRows(ctx, conn, l.sessionsTable,
			[]string{"session_id", "kind", "title", "owner", "created_at", "last_seq", "last_activity",
				"retention_days", "expired_seq"},
			len(ids), l.copyRows, func(i int) []any {
				s := sessions[ids[i]]
				v[0], v[1], v[2], v[3], v[4], v[5], v[6] = ids[i], s.kind, s.title, s.owner, s.createdAt, s.lastSeq, s.lastActivity
				v[7], v[8] = s.retentionDays, s.expiredSeq
				return v
			})
		if err != nil {
			return err
		}
		keys := slices.SortedFunc(maps.Keys(members), func(a, b memberKey) int {
			return cmp.Or(cmp.Compare(a.session, b.session), cmp.Compare(a.user, b.user))
		})
		v = v[:5]
		return copyRows(ctx, conn, l.membersTable, []string{"session_id", "user_id", "received_seq", "read_seq", "muted"},
			len(keys), l.copyRows, func(i int) []any {
				m := members[keys[i]]
				v[0], v[1], v[2], v[3], v[4] = keys[i].session, keys[i].user, m.received, m.read, m.muted
				return v
			})
	})
}

func (l *sessionsLoad) afterIndexes(context.Context, *pgxpool.Conn) error { return nil }
