package domain

import "github.com/tellyou/tellyou/events"

// ExpireCommand asks to expire the messages of a session that passed its
// retention. The state keeps only recent messages, so the caller (the
// retention sweeper) finds the candidate on the read side, which knows every
// message's server timestamp; the decision checks it against what the state
// knows.
type ExpireCommand struct {
	// SessionID names the session.
	SessionID string
	// UpToSeq is the highest seq the caller found due: every message up to it
	// has a server timestamp before Before.
	UpToSeq int64
	// Before is the cutoff, server time in ms since the Unix epoch: messages
	// with an earlier server timestamp passed their retention.
	Before int64
}

// DecideExpire decides an expiry. Checks, in order: the command names the
// state's session (KindInvalid); the session exists (KindNotFound); Before is
// positive (KindInvalid). The seq expired up to is UpToSeq, lowered to the
// session's last seq and to just below the first message the state still
// holds whose server timestamp is not before Before, so no message expires
// early however the caller erred. It emits MessagesExpired{UpToSeq, Before}
// when that seq is beyond the state's ExpiredSeq, and nothing otherwise:
// expiry only moves forward and a repeated sweep adds no event.
func DecideExpire(s *Session, cmd ExpireCommand) ([]events.Payload, error) {
	if err := s.checkTarget(cmd.SessionID); err != nil {
		return nil, err
	}
	if !s.Exists() {
		return nil, notFound(reasonNoSession)
	}
	if cmd.Before <= 0 {
		return nil, invalid("the expiry cutoff must be a positive server time")
	}
	upTo := min(cmd.UpToSeq, s.LastSeq)
	if seq, ok := s.recent.firstNotBefore(cmd.Before); ok {
		upTo = min(upTo, seq-1)
	}
	if upTo <= s.ExpiredSeq {
		return nil, nil
	}
	return []events.Payload{events.MessagesExpired{
		SessionID: s.ID,
		UpToSeq:   upTo,
		Before:    cmd.Before,
	}}, nil
}
