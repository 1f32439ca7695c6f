package domain

import "github.com/tellyou/tellyou/events"

// RecallCommand asks to withdraw a message.
type RecallCommand struct {
	// UserID is the authenticated user.
	UserID string
	// SessionID names the session of the message.
	SessionID string
	// MessageID is the id of the message to recall.
	MessageID string
	// Now is the server time, ms since the Unix epoch.
	Now int64
}

// DecideRecall decides a recall. Checks, in order: the command names the
// state's session (KindInvalid); the session exists
// (KindNotFound); the user is a member (KindForbidden); the state holds the
// message (ErrUnknownMessage: it never existed here, or it is older than the
// state keeps by id, the longer of the recall and edit windows and a minute
// behind the newest message, which is never within the recall window while
// the servers' clocks agree within that minute; the caller may then ask the read side, which
// knows older messages); the user sent it (KindForbidden). A message already
// recalled emits nothing and is not an error, so a retried recall succeeds
// even after the window. Otherwise the recall must come within
// Policy.RecallWindow of the message's server timestamp (inclusive;
// KindForbidden after it) and emits MessageRecalled.
func DecideRecall(s *Session, p Policy, cmd RecallCommand) ([]events.Payload, error) {
	if err := s.checkTarget(cmd.SessionID); err != nil {
		return nil, err
	}
	if err := s.CheckAccess(cmd.UserID); err != nil {
		return nil, err
	}
	m, ok := s.recent.message(cmd.MessageID)
	if !ok {
		return nil, ErrUnknownMessage
	}
	if m.sender != cmd.UserID {
		return nil, forbidden("only the sender can recall a message")
	}
	if m.recalled {
		return nil, nil
	}
	if cmd.Now-m.serverTs > p.RecallWindow.Milliseconds() {
		return nil, forbidden("the recall window has passed")
	}
	return []events.Payload{events.MessageRecalled{
		SessionID:  s.ID,
		MessageID:  cmd.MessageID,
		Seq:        m.seq,
		By:         cmd.UserID,
		RecalledAt: cmd.Now,
	}}, nil
}
