package command

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
	return h.start(ctx, cmd, nil, false).Wait()
}

// Start queues the ack and returns at once, as SendHandler.Start does. Acks
// are never refused as overloaded: they are cheap, and refusing one would
// only cause the redeliveries it stops.
func (h *AckHandler) Start(ctx context.Context, cmd Ack, gate *Gate) *Pending[AckResult] {
	return h.start(ctx, cmd, gate, true)
}

func (h *AckHandler) start(ctx context.Context, cmd Ack, gate *Gate, async bool) *Pending[AckResult] {
	if _, err := domain.SessionKind(cmd.SessionID); err != nil {
		return failed[AckResult](err)
	}
	var res AckResult
	op := h.repo.startExempt(ctx, cmd.SessionID, cmd.Meta, gate, func(s *domain.Session) ([]events.Payload, error) {
		evs, err := domain.DecideAck(s, domain.AckCommand{UserID: cmd.Meta.Actor, SessionID: cmd.SessionID, Seq: cmd.Seq, AckType: cmd.AckType})
		res.Moved = len(evs) > 0
		return evs, err
	}, func(s *domain.Session) {
		if m, ok := s.Members[cmd.Meta.Actor]; ok {
			res.ReceivedSeq, res.ReadSeq = m.ReceivedSeq, m.ReadSeq
		}
	}, async)
	return &Pending[AckResult]{op: op, result: func() (AckResult, error) { return res, nil }}
}
