package projectiontest

import (
	"github.com/google/uuid"
	"github.com/tellyou/tellyou/events"
)

// SessionLog appends the events of one session, as the domain would, keeping
// its seq. It is not safe for concurrent use.
type SessionLog struct {
	Env *Env
	ID  string
	// Seq is the seq of the latest message.
	Seq int64
}

// CreateDirect appends the creation of the direct session of a and b, with its
// first message from a, as the domain does in one append.
func (e *Env) CreateDirect(a, b, firstMessage string) (*SessionLog, events.MessageSent) {
	e.TB.Helper()
	lo, hi := min(a, b), max(a, b)
	s := &SessionLog{Env: e, ID: "d:" + lo + ":" + hi}
	created := events.SessionCreated{SessionID: s.ID, Kind: events.KindDirect,
		Members: []string{lo, hi}, CreatedAt: e.Now()}
	m := s.message(a, firstMessage)
	e.Append(s.ID, created, m)
	return s, m
}

// CreateGroup appends the creation of a group owned by owner with the other
// members.
func (e *Env) CreateGroup(title, owner string, others ...string) *SessionLog {
	e.TB.Helper()
	s := &SessionLog{Env: e, ID: "g:" + uuid.NewString()}
	e.Append(s.ID, events.SessionCreated{SessionID: s.ID, Kind: events.KindGroup, Title: title,
		Owner: owner, Members: append([]string{owner}, others...), CreatedAt: e.Now()})
	return s
}

func (s *SessionLog) message(sender, content string) events.MessageSent {
	s.Seq++
	now := s.Env.Now()
	return events.MessageSent{SessionID: s.ID, MessageID: uuid.NewString(), Seq: s.Seq,
		SenderID: sender, MessageType: 1, Content: content, ClientMessageID: uuid.NewString(),
		ClientTimestamp: now - 5, ServerTimestamp: now, AdjustedTimestamp: now - 5}
}

// Send appends a text message and returns it.
func (s *SessionLog) Send(sender, content string) events.MessageSent {
	s.Env.TB.Helper()
	m := s.message(sender, content)
	s.Env.Append(s.ID, m)
	return m
}

// SendExt appends a message with an ext object.
func (s *SessionLog) SendExt(sender, content, ext string) events.MessageSent {
	s.Env.TB.Helper()
	m := s.message(sender, content)
	m.Ext = []byte(ext)
	s.Env.Append(s.ID, m)
	return m
}

// Reply appends a text message answering message to.
func (s *SessionLog) Reply(sender, content string, to events.MessageSent) events.MessageSent {
	s.Env.TB.Helper()
	m := s.message(sender, content)
	m.ReplyTo = to.MessageID
	s.Env.Append(s.ID, m)
	return m
}

// Edit appends the replacement of m's content by its sender and returns the
// edit.
func (s *SessionLog) Edit(m events.MessageSent, content string) events.MessageEdited {
	s.Env.TB.Helper()
	e := events.MessageEdited{SessionID: s.ID, MessageID: m.MessageID, Seq: m.Seq, By: m.SenderID,
		Content: content, EditedAt: s.Env.Now()}
	s.Env.Append(s.ID, e)
	return e
}

// React appends user's emoji reaction to m.
func (s *SessionLog) React(user string, m events.MessageSent, emoji string) {
	s.Env.TB.Helper()
	s.Env.Append(s.ID, events.ReactionAdded{SessionID: s.ID, MessageID: m.MessageID, Seq: m.Seq,
		UserID: user, Emoji: emoji, At: s.Env.Now()})
}

// Unreact appends the removal of user's emoji reaction to m.
func (s *SessionLog) Unreact(user string, m events.MessageSent, emoji string) {
	s.Env.TB.Helper()
	s.Env.Append(s.ID, events.ReactionRemoved{SessionID: s.ID, MessageID: m.MessageID, Seq: m.Seq,
		UserID: user, Emoji: emoji, At: s.Env.Now()})
}

// Recall appends the recall of m by its sender.
func (s *SessionLog) Recall(m events.MessageSent) {
	s.Env.TB.Helper()
	s.Env.Append(s.ID, events.MessageRecalled{SessionID: s.ID, MessageID: m.MessageID, Seq: m.Seq,
		By: m.SenderID, RecalledAt: s.Env.Now()})
}

// Received appends the move of user's received watermark to upTo.
func (s *SessionLog) Received(user string, upTo int64) {
	s.Env.TB.Helper()
	s.Env.Append(s.ID, events.MessagesReceived{SessionID: s.ID, UserID: user, UpToSeq: upTo})
}

// Read appends the move of user's read watermark to upTo, after the received
// one, as the domain does for a read ack.
func (s *SessionLog) Read(user string, upTo int64) {
	s.Env.TB.Helper()
	s.Env.Append(s.ID, events.MessagesReceived{SessionID: s.ID, UserID: user, UpToSeq: upTo},
		events.MessagesRead{SessionID: s.ID, UserID: user, UpToSeq: upTo})
}

// Mute appends user's change of their muted setting.
func (s *SessionLog) Mute(user string, muted bool) {
	s.Env.TB.Helper()
	s.Env.Append(s.ID, events.MemberSettingsChanged{SessionID: s.ID, UserID: user, Muted: muted, At: s.Env.Now()})
}

// Add appends users joining at the current seq.
func (s *SessionLog) Add(by string, users ...string) {
	s.Env.TB.Helper()
	s.Env.Append(s.ID, events.MembersAdded{SessionID: s.ID, Members: users, By: by, AtSeq: s.Seq})
}

// Remove appends users leaving.
func (s *SessionLog) Remove(by string, users ...string) {
	s.Env.TB.Helper()
	s.Env.Append(s.ID, events.MembersRemoved{SessionID: s.ID, Members: users, By: by})
}

// SetRetention appends a change of the session's retention by by (nil: the
// server's default).
func (s *SessionLog) SetRetention(by string, days *int) {
	s.Env.TB.Helper()
	s.Env.Append(s.ID, events.SessionSettingsChanged{SessionID: s.ID, By: by, RetentionDays: days, At: s.Env.Now()})
}

// Expire appends the expiry of the session's messages up to upTo, with the
// current clock as the cutoff.
func (s *SessionLog) Expire(upTo int64) {
	s.Env.TB.Helper()
	s.Env.Append(s.ID, events.MessagesExpired{SessionID: s.ID, UpToSeq: upTo, Before: s.Env.Now()})
}
