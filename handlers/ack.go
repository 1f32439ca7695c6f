package handlers

import (
	"context"

	"github.com/tellyou/tellyou/domain"
	"github.com/tellyou/tellyou/events"
)

// Ack is a cumulative receipt: every message up to Seq was received or read.
type Ack struct {
	Meta      RequestMeta
	SessionID string
	Seq       int64
	AckType   string // domain.AckReceived or domain.AckRead
}

// AckResult tells which watermarks moved.
type AckResult struct {
	ReceivedSeq, ReadSeq int64 // the user's watermarks after the ack
	Moved                bool  // false when the ack was at or below the watermark
}

// AckHandler appends MessagesReceived and MessagesRead events.
type AckHandler struct {
	repo *SessionRepository
}

// Handle moves the user's watermark forward; an ack at or below it changes
// nothing and is not an error.
func (h *AckHandler) Handle(ctx context.Context, cmd Ack) (AckResult, error) {
	if _, err := domain.SessionKind(cmd.SessionID); err != nil {
		return AckResult{}, err
	}
	var res AckResult
	err := h.repo.update(ctx, cmd.SessionID, cmd.Meta, func(s *domain.Session) ([]events.Payload, error) {
		evs, err := domain.DecideAck(s, domain.AckCommand{UserID: cmd.Meta.Actor, SessionID: cmd.SessionID, Seq: cmd.Seq, AckType: cmd.AckType})
		res.Moved = len(evs) > 0
		return evs, err
	}, func(s *domain.Session) {
		if m, ok := s.Members[cmd.Meta.Actor]; ok {
			res.ReceivedSeq, res.ReadSeq = m.ReceivedSeq, m.ReadSeq
		}
	})
	if err != nil {
		return AckResult{}, err
	}
	return res, nil
}
