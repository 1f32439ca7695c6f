package domain

import "github.com/tellyou/tellyou/events"

// Ack types of AckCommand.
const (
	// AckReceived: the messages reached one of the user's devices.
	AckReceived = "received"
	// AckRead: the user has read the messages (which implies received).
	AckRead = "read"
)

// AckCommand acknowledges every message of a session up to Seq (cumulative).
type AckCommand struct {
	// UserID is the authenticated user.
	UserID string
	// SessionID names the session acknowledged.
	SessionID string
	// Seq is the last acknowledged seq; 0 acknowledges nothing.
	Seq int64
	// AckType is AckReceived or AckRead.
	AckType string
}

// DecideAck decides an ack. Checks, in order: the command names the state's
// session, AckType is known and Seq is not negative (KindInvalid); the
// session exists (KindNotFound); the user is a member (KindForbidden); Seq is
// not beyond the last message (KindInvalid).
//
// Watermarks only move forward: a received ack emits MessagesReceived when Seq
// is above the user's received watermark; a read ack emits MessagesReceived
// first when Seq is above the received watermark (reading implies receiving),
// then MessagesRead when Seq is above the read watermark. An ack at or below
// the watermarks emits nothing and is not an error.
func DecideAck(s *Session, cmd AckCommand) ([]events.Payload, error) {
	if err := s.checkTarget(cmd.SessionID); err != nil {
		return nil, err
	}
	if cmd.AckType != AckReceived && cmd.AckType != AckRead {
		return nil, invalid(`ackType must be "received" or "read"`)
	}
	if cmd.Seq < 0 {
		return nil, invalid("seq must not be negative")
	}
	if err := s.CheckAccess(cmd.UserID); err != nil {
		return nil, err
	}
	if cmd.Seq > s.LastSeq {
		return nil, invalid("seq beyond the last message")
	}
	m := s.Members[cmd.UserID]
	var out []events.Payload
	if cmd.Seq > m.ReceivedSeq {
		out = append(out, events.MessagesReceived{SessionID: s.ID, UserID: cmd.UserID, UpToSeq: cmd.Seq})
	}
	if cmd.AckType == AckRead && cmd.Seq > m.ReadSeq {
		out = append(out, events.MessagesRead{SessionID: s.ID, UserID: cmd.UserID, UpToSeq: cmd.Seq})
	}
	return out, nil
}
