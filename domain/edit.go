package domain

import "github.com/tellyou/tellyou/events"

// EditCommand asks to replace the content of one of the user's messages.
type EditCommand struct {
	// UserID is the authenticated user.
	UserID string
	// SessionID names the session of the message.
	SessionID string
	// MessageID is the id of the message to edit.
	MessageID string
	// Content is the new body, under the same rules as a send's content.
	Content string
	// Found, when not nil, is the message as the history read model holds
	// it, for a message older than the state keeps (see HistoryMessage).
	Found *HistoryMessage
	// Now is the server time, ms since the Unix epoch.
	Now int64
}

// DecideEdit decides an edit. Checks, in order: the command names the
// state's session (KindInvalid); the content follows the send rules
// (KindInvalid, KindTooLarge over Policy.MaxContentBytes); the session exists
// (KindNotFound); the user is a member (KindForbidden); the state holds the
// message, or cmd.Found is it (ErrUnknownMessage otherwise: the state keeps
// messages by id for the longer of the recall and edit windows and a minute,
// so an unknown message is either not in the session or past the edit
// window; the caller may look it up in the history and decide again); the
// user sent it (KindForbidden); it is not recalled (KindForbidden); the edit
// comes within Policy.EditWindow of the message's server timestamp
// (inclusive; KindForbidden after it). It then emits MessageEdited. Every
// edit is appended, even one that repeats the content: the log keeps every
// version, and a retried edit only repeats the same version.
func DecideEdit(s *Session, p Policy, cmd EditCommand) ([]events.Payload, error) {
	if err := s.checkTarget(cmd.SessionID); err != nil {
		return nil, err
	}
	if err := checkContent(p, cmd.Content); err != nil {
		return nil, err
	}
	if err := s.CheckAccess(cmd.UserID); err != nil {
		return nil, err
	}
	m, ok := s.messageByID(cmd.MessageID, cmd.Found)
	switch {
	case !ok:
		return nil, ErrUnknownMessage
	case m.sender != cmd.UserID:
		return nil, forbidden("only the sender can edit a message")
	case m.recalled:
		return nil, forbidden("a recalled message cannot be edited")
	case cmd.Now-m.serverTs > p.EditWindow.Milliseconds():
		return nil, forbidden("the edit window has passed")
	}
	return []events.Payload{events.MessageEdited{
		SessionID: s.ID,
		MessageID: cmd.MessageID,
		Seq:       m.seq,
		By:        cmd.UserID,
		Content:   cmd.Content,
		EditedAt:  cmd.Now,
	}}, nil
}
