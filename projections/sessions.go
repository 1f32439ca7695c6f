package projections

import (
	"slices"

	"github.com/jackc/pgx/v5"
	"github.com/tellyou/tellyou/events"
)

// Sessions returns the "sessions" projection: one rm_sessions row per session
// (last_seq and last_activity follow its messages) and one rm_members row per
// current member with their received and read watermarks. Watermarks only
// move forward: a lower one arriving late changes nothing. Members added to a
// session start with both watermarks at the event's AtSeq, so earlier history
// is readable but neither unread nor in their inbox; removed members lose
// their row. A member's muted follows their MemberSettingsChanged.
// their row. SessionSettingsChanged sets the session's retention_days,
// MessagesExpired moves its expired_seq forward.
func Sessions() Projection { return sessionsProjection{} }

type sessionsProjection struct{}

func (sessionsProjection) Name() string     { return SessionsName }
func (sessionsProjection) Tables() []string { return []string{"rm_sessions", "rm_members"} }

func (sessionsProjection) Handles(eventType string) bool {
	switch eventType {
	case events.TypeSessionCreated, events.TypeMembersAdded, events.TypeMembersRemoved,
		events.TypeMessageSent, events.TypeMessagesReceived, events.TypeMessagesRead,
		events.TypeMemberSettingsChanged, events.TypeSessionSettingsChanged, events.TypeMessagesExpired:
		return true
	}
	return false
}

func (sessionsProjection) Apply(b *pgx.Batch, tables TableNames, ev events.RecordedEvent, env events.Envelope) error {
	sessions, members := tables.Of("rm_sessions"), tables.Of("rm_members")
	switch e := env.Payload.(type) {
	case events.SessionCreated:
		if err := checkStream(ev, e.SessionID); err != nil {
			return err
		}
		b.Queue(`INSERT INTO `+sessions+` (session_id, kind, title, owner, created_at, last_seq, last_activity)
			VALUES ($1, $2, $3, $4, $5, 0, $5) ON CONFLICT DO NOTHING`,
			e.SessionID, e.Kind, pgText(e.Title), e.Owner, e.CreatedAt)
		b.Queue(`INSERT INTO `+members+` (session_id, user_id, received_seq, read_seq)
			SELECT $1::text, u, 0, 0 FROM unnest($2::text[]) AS u ON CONFLICT DO NOTHING`,
			e.SessionID, distinct(e.Members))
	case events.MembersAdded:
		if err := checkStream(ev, e.SessionID); err != nil {
			return err
		}
		b.Queue(`INSERT INTO `+members+` AS m (session_id, user_id, received_seq, read_seq)
			SELECT $1::text, u, $3::bigint, $3::bigint FROM unnest($2::text[]) AS u
			ON CONFLICT (session_id, user_id) DO UPDATE SET
				received_seq = GREATEST(m.received_seq, EXCLUDED.received_seq),
				read_seq = GREATEST(m.read_seq, EXCLUDED.read_seq)`,
			e.SessionID, distinct(e.Members), e.AtSeq)
	case events.MembersRemoved:
		if err := checkStream(ev, e.SessionID); err != nil {
			return err
		}
		b.Queue(`DELETE FROM `+members+` WHERE session_id = $1 AND user_id = ANY($2::text[])`,
			e.SessionID, e.Members)
	case events.MessageSent:
		if err := checkStream(ev, e.SessionID); err != nil {
			return err
		}
		b.Queue(`UPDATE `+sessions+` SET last_seq = GREATEST(last_seq, $2),
				last_activity = CASE WHEN $2 > last_seq THEN $3 ELSE last_activity END
			WHERE session_id = $1`, e.SessionID, e.Seq, e.ServerTimestamp)
	case events.MessagesReceived:
		if err := checkStream(ev, e.SessionID); err != nil {
			return err
		}
		b.Queue(`UPDATE `+members+` SET received_seq = GREATEST(received_seq, $3)
			WHERE session_id = $1 AND user_id = $2`, e.SessionID, e.UserID, e.UpToSeq)
	case events.MessagesRead:
		if err := checkStream(ev, e.SessionID); err != nil {
			return err
		}
		b.Queue(`UPDATE `+members+` SET read_seq = GREATEST(read_seq, $3)
			WHERE session_id = $1 AND user_id = $2`, e.SessionID, e.UserID, e.UpToSeq)
	case events.MemberSettingsChanged:
		if err := checkStream(ev, e.SessionID); err != nil {
			return err
		}
		b.Queue(`UPDATE `+members+` SET muted = $3 WHERE session_id = $1 AND user_id = $2`,
			e.SessionID, e.UserID, e.Muted)
	case events.SessionSettingsChanged:
		if err := checkStream(ev, e.SessionID); err != nil {
			return err
		}
		b.Queue(`UPDATE `+sessions+` SET retention_days = $2 WHERE session_id = $1`, e.SessionID, e.RetentionDays)
	case events.MessagesExpired:
		if err := checkStream(ev, e.SessionID); err != nil {
			return err
		}
		b.Queue(`UPDATE `+sessions+` SET expired_seq = GREATEST(expired_seq, $2) WHERE session_id = $1`,
			e.SessionID, e.UpToSeq)
	}
	return nil
}

// distinct returns ids sorted without repeats: one statement may not upsert
// the same row twice.
func distinct(ids []string) []string {
	out := slices.Clone(ids)
	slices.Sort(out)
	return slices.Compact(out)
}
