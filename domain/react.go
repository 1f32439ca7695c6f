package domain

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/tellyou/tellyou/events"
)

// ReactCommand asks to add or remove the user's reaction to a message.
type ReactCommand struct {
	// UserID is the authenticated user.
	UserID string
	// SessionID names the session of the message.
	SessionID string
	// MessageID is the id of the message reacted to.
	MessageID string
	// Emoji is the reaction: non-empty UTF-8 of at most Policy.MaxEmojiBytes
	// bytes, without control characters. It is kept as given: the server
	// does not check that it is an emoji.
	Emoji string
	// Remove withdraws the reaction instead of adding it.
	Remove bool
	// Found, when not nil, is the message as the history read model holds
	// it, for a message older than the state keeps (see HistoryMessage).
	Found *HistoryMessage
	// Now is the server time, ms since the Unix epoch.
	Now int64
}

// DecideReact decides a reaction. Checks, in order: the command names the
// state's session and the emoji is well formed (KindInvalid); the session
// exists (KindNotFound); the user is a member (KindForbidden); the state
// holds the message, or cmd.Found is it (ErrUnknownMessage otherwise: the
// caller may look it up in the history and decide again); it is not recalled
// (KindForbidden). A user has at most one reaction of each emoji on a
// message: adding one the user already has, or removing one the user does
// not have, emits nothing and is not an error, so a retried reaction
// succeeds. Adding an emoji the message has no reaction of yet is refused
// once the message has Policy.MaxReactionEmojis distinct emojis
// (KindInvalid). Otherwise it emits ReactionAdded or ReactionRemoved.
func DecideReact(s *Session, p Policy, cmd ReactCommand) ([]events.Payload, error) {
	if err := s.checkTarget(cmd.SessionID); err != nil {
		return nil, err
	}
	if err := checkEmoji(p, cmd.Emoji); err != nil {
		return nil, err
	}
	if err := s.CheckAccess(cmd.UserID); err != nil {
		return nil, err
	}
	m, ok := s.messageByID(cmd.MessageID, cmd.Found)
	switch {
	case !ok:
		return nil, ErrUnknownMessage
	case m.recalled:
		return nil, forbidden("a recalled message cannot be reacted to")
	}
	key, _ := messageKeyOf(cmd.MessageID)
	has := s.reactions.has(key, cmd.Emoji, cmd.UserID)
	if cmd.Remove {
		if !has {
			return nil, nil
		}
		return []events.Payload{events.ReactionRemoved{SessionID: s.ID, MessageID: cmd.MessageID, Seq: m.seq,
			UserID: cmd.UserID, Emoji: cmd.Emoji, At: cmd.Now}}, nil
	}
	if has {
		return nil, nil
	}
	if s.reactions.emojiIndex(key, cmd.Emoji) < 0 && s.reactions.distinct(key) >= p.MaxReactionEmojis {
		return nil, invalid(fmt.Sprintf("a message has at most %d different reactions", p.MaxReactionEmojis))
	}
	return []events.Payload{events.ReactionAdded{SessionID: s.ID, MessageID: cmd.MessageID, Seq: m.seq,
		UserID: cmd.UserID, Emoji: cmd.Emoji, At: cmd.Now}}, nil
}

// checkEmoji holds a reaction's emoji to its rules.
func checkEmoji(p Policy, emoji string) error {
	switch {
	case emoji == "":
		return invalid("emoji is required")
	case len(emoji) > p.MaxEmojiBytes:
		return invalid(fmt.Sprintf("emoji is longer than %d bytes", p.MaxEmojiBytes))
	case !utf8.ValidString(emoji):
		return invalid("emoji is not valid UTF-8")
	case strings.ContainsFunc(emoji, unicode.IsControl):
		return invalid("emoji must not contain control characters")
	}
	return nil
}
