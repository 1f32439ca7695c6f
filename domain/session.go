package domain

import (
	"slices"

	"github.com/tellyou/tellyou/events"
)

// Member is a current member of a session with their watermarks: every message
// up to ReceivedSeq has reached one of their devices, every message up to
// ReadSeq has been read. Watermarks only move forward.
type Member struct {
	UserID      string
	ReceivedSeq int64
	ReadSeq     int64
	// Muted is the member's own setting: no offline notifications for the
	// session. A member removed and added again starts unmuted.
	Muted bool
}

// Session is the state of one session, rebuilt by Apply from its event stream.
// It is not safe for concurrent use; callers that share a state decide on a
// Clone.
type Session struct {
	// ID is the session id (see SessionKind).
	ID string
	// Kind is events.KindDirect or events.KindGroup; empty until the session
	// exists.
	Kind string
	// Title and Owner are set for groups only.
	Title, Owner string
	// CreatedAt is the server time of creation, ms since the Unix epoch.
	CreatedAt int64
	// Members holds the current members by user id.
	Members map[string]*Member
	// Version is the stream version of the last applied event (0: no stream).
	Version int64
	// LastSeq is the seq of the last message (0: none yet).
	LastSeq int64
	// RetentionDays is the session's own retention in days; nil: the
	// server's default.
	RetentionDays *int
	// ExpiredSeq is the seq every message up to which has expired (0: none).
	ExpiredSeq int64

	recent    recentMessages
	reactions reactionTable
}

// NewSession returns the state of a session before its first event. The
// policy's windows decide how much message history the state keeps behind
// the newest message: for answering repeated sends, the dedup window (or the
// retention by id, when that is longer); for decisions by message id (recall,
// edit, reaction, reply), the longer of the recall and edit windows and a
// minute more. The live reactions of messages of any age are kept besides
// (see reactionTable).
func NewSession(id string, p Policy) *Session {
	return &Session{
		ID:      id,
		Members: make(map[string]*Member),
		recent:  newRecentMessages(p.retention().Milliseconds(), p.recallRetention().Milliseconds()),
	}
}

// Exists reports whether the session has been created.
func (s *Session) Exists() bool {
	return s.Kind != ""
}

// IsMember reports whether userID is a current member.
func (s *Session) IsMember(userID string) bool {
	_, ok := s.Members[userID]
	return ok
}

// CheckAccess allows reads, sync and typing to current members: KindNotFound
// when the session does not exist, KindForbidden when userID is not a member.
func (s *Session) CheckAccess(userID string) error {
	if !s.Exists() {
		return notFound(reasonNoSession)
	}
	if !s.IsMember(userID) {
		return forbidden(reasonNotMember)
	}
	return nil
}

// checkTarget refuses a command that names another session than the state it
// is decided on: a caller's mistake, never the client's.
func (s *Session) checkTarget(sessionID string) error {
	if sessionID != s.ID {
		return invalid("the command names another session than the state")
	}
	return nil
}

// MemberIDs returns the current members' user ids in byte order.
func (s *Session) MemberIDs() []string {
	ids := make([]string, 0, len(s.Members))
	for id := range s.Members {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// Clone returns a deep copy: changing either copy never affects the other.
func (s *Session) Clone() *Session {
	c := *s
	c.Members = make(map[string]*Member, len(s.Members))
	for id, m := range s.Members {
		mc := *m
		c.Members[id] = &mc
	}
	if s.RetentionDays != nil {
		d := *s.RetentionDays
		c.RetentionDays = &d
	}
	c.recent = s.recent.clone()
	c.reactions = s.reactions.clone()
	return &c
}

// Apply evolves the state by one event of the stream, at the given stream
// version. Events are facts: Apply never fails, ignores what does not concern
// the state (such as watermarks of non-members) and never moves a watermark
// backwards. Payloads may be values or pointers.
func (s *Session) Apply(version int64, p events.Payload) {
	s.Version = version
	if s.Members == nil {
		s.Members = make(map[string]*Member)
	}
	switch e := payloadValue(p).(type) {
	case events.SessionCreated:
		if s.ID == "" {
			s.ID = e.SessionID
		}
		s.Kind, s.Title, s.Owner, s.CreatedAt = e.Kind, e.Title, e.Owner, e.CreatedAt
		clear(s.Members)
		for _, id := range e.Members {
			s.Members[id] = &Member{UserID: id}
		}
	case events.MembersAdded:
		for _, id := range e.Members {
			if m, ok := s.Members[id]; ok {
				m.ReceivedSeq = max(m.ReceivedSeq, e.AtSeq)
				m.ReadSeq = max(m.ReadSeq, e.AtSeq)
				continue
			}
			s.Members[id] = &Member{UserID: id, ReceivedSeq: e.AtSeq, ReadSeq: e.AtSeq}
		}
	case events.MembersRemoved:
		for _, id := range e.Members {
			delete(s.Members, id)
		}
	case events.MessageSent:
		s.LastSeq = e.Seq
		s.recent.add(e)
	case events.MessagesReceived:
		if m, ok := s.Members[e.UserID]; ok {
			m.ReceivedSeq = max(m.ReceivedSeq, e.UpToSeq)
		}
	case events.MessagesRead:
		if m, ok := s.Members[e.UserID]; ok {
			m.ReadSeq = max(m.ReadSeq, e.UpToSeq)
		}
	case events.MessageRecalled:
		s.recent.markRecalled(e.MessageID)
		key, _ := messageKeyOf(e.MessageID)
		s.reactions.drop(key)
	case events.ReactionAdded:
		key, _ := messageKeyOf(e.MessageID)
		s.reactions.add(key, e.Emoji, s.memberName(e.UserID))
	case events.ReactionRemoved:
		key, _ := messageKeyOf(e.MessageID)
		s.reactions.remove(key, e.Emoji, e.UserID)
	case events.MemberSettingsChanged:
		if m, ok := s.Members[e.UserID]; ok {
			m.Muted = e.Muted
		}
	case events.SessionSettingsChanged:
		s.RetentionDays = nil
		if e.RetentionDays != nil {
			d := *e.RetentionDays
			s.RetentionDays = &d
		}
	case events.MessagesExpired:
		s.ExpiredSeq = max(s.ExpiredSeq, e.UpToSeq)
		s.recent.forgetUpTo(e.UpToSeq)
	}
	// MessageEdited changes nothing the decisions read.
}

// memberName returns id, as the member table's own string when id is a
// member's, so that the state holds one copy of its text.
func (s *Session) memberName(id string) string {
	if m, ok := s.Members[id]; ok {
		return m.UserID
	}
	return id
}

// payloadValue turns a pointer payload into its value, so Apply handles both.
func payloadValue(p events.Payload) events.Payload {
	switch e := p.(type) {
	case *events.SessionCreated:
		if e != nil {
			return *e
		}
	case *events.MembersAdded:
		if e != nil {
			return *e
		}
	case *events.MembersRemoved:
		if e != nil {
			return *e
		}
	case *events.MessageSent:
		if e != nil {
			return *e
		}
	case *events.MessagesReceived:
		if e != nil {
			return *e
		}
	case *events.MessagesRead:
		if e != nil {
			return *e
		}
	case *events.MessageRecalled:
		if e != nil {
			return *e
		}
	case *events.MessageEdited:
		if e != nil {
			return *e
		}
	case *events.ReactionAdded:
		if e != nil {
			return *e
		}
	case *events.ReactionRemoved:
		if e != nil {
			return *e
		}
	case *events.MemberSettingsChanged:
		if e != nil {
			return *e
		}
	case *events.SessionSettingsChanged:
		if e != nil {
			return *e
		}
	case *events.MessagesExpired:
		if e != nil {
			return *e
		}
	default:
		return p
	}
	return nil
}
