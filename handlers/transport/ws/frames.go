package ws

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/coder/websocket"
	"golang.org/x/time/rate"

	"github.com/tellyou/tellyou/handlers/command"
	"github.com/tellyou/tellyou/handlers/query"
	"github.com/tellyou/tellyou/handlers/transport/wire"
	"github.com/tellyou/tellyou/readmodels"
)

// handleFrame decodes one client frame and answers it. Bad frames are
// answered with an error frame; the connection stays open. Well-formed sends
// count against the user's send limit, every other frame against the
// connection's frame limit.
func (c *conn) handleFrame(typ websocket.MessageType, data []byte, arrived time.Time) {
	r := c.newRequest(arrived)
	defer func() {
		if !r.pipelined {
			c.answer(r, nil) // a frame without an answer still leaves the line
			c.logHandled(r)
		}
	}()
	if typ != websocket.MessageText {
		f, _ := wire.Decode(data) // only for the id and clientMessageId to echo
		r.frame = wire.ClientFrame{Type: f.Type, ID: f.ID, ClientMessageID: f.ClientMessageID}
		if c.allowFrame(r) {
			c.refuse(r, wire.BadRequest("binary frames are not accepted: send JSON text frames"))
		}
		return
	}
	f, bad := wire.Decode(data)
	r.frame = f
	if bad != nil {
		if c.allowFrame(r) {
			c.refuse(r, bad)
		}
		return
	}
	if f.Type != wire.TypeSend && !c.allowFrame(r) {
		return
	}
	meta := command.RequestMeta{Actor: c.user.UserID, CorrelationID: r.correlationID, CausationID: f.ID}
	switch f.Type {
	case wire.TypeSend:
		r.pipelined = true
		c.pipelineSend(r, meta)
		if f.ReplyTo != "" {
			// A reply to a message older than the session state keeps is
			// decided again after a look-up: the frames after it wait, so
			// that it keeps its place among them.
			c.waitStarted()
		}
		return
	case wire.TypeAck:
		r.pipelined = true
		c.pipelineAck(r, meta)
		return
	case wire.TypeRecall, wire.TypeEdit, wire.TypeReact, wire.TypeSync:
		// They see what the frames before them did.
		c.waitStarted()
	}
	ctx, cancel := context.WithTimeout(c.h.base, c.h.cfg.Limits.HandleTimeout)
	defer cancel()
	switch f.Type {
	case wire.TypeRecall:
		c.handleRecall(ctx, r, meta)
	case wire.TypeEdit:
		c.answerErr(r, c.h.cfg.Commands.Edit.Handle(ctx, command.Edit{Meta: meta, SessionID: f.SessionID,
			MessageID: f.MessageID, Content: *f.Content}))
	case wire.TypeReact:
		c.answerErr(r, c.h.cfg.Commands.React.Handle(ctx, command.React{Meta: meta, SessionID: f.SessionID,
			MessageID: f.MessageID, Emoji: f.Emoji, Remove: f.Remove}))
	case wire.TypeSync:
		c.handleSync(ctx, r, meta)
	case wire.TypeTyping:
		c.handleTyping(ctx, r)
	}
}

func (c *conn) handleRecall(ctx context.Context, r *request, meta command.RequestMeta) {
	f := r.frame
	c.answerErr(r, c.h.cfg.Commands.Recall.Handle(ctx, command.Recall{Meta: meta, SessionID: f.SessionID, MessageID: f.MessageID}))
}

// answerErr answers a command with ok (when the frame carried an id) or its
// error.
func (c *conn) answerErr(r *request, err error) {
	if err != nil {
		c.fail(r, err)
		return
	}
	c.ok(r)
}

// handleSync answers up to limit messages after afterSeq, reading as many
// read-model pages as that takes.
func (c *conn) handleSync(ctx context.Context, r *request, meta command.RequestMeta) {
	f := r.frame
	after, limit := int64(0), wire.DefaultSyncLimit
	if f.AfterSeq != nil {
		after = *f.AfterSeq
	}
	if f.Limit != nil {
		limit = *f.Limit
	}
	answer := wire.MessagesFrame{Type: wire.TypeMessages, ID: f.ID, SessionID: f.SessionID, Messages: []readmodels.Message{}}
	for len(answer.Messages) < limit {
		page, err := c.h.cfg.Queries.Messages(ctx, query.MessagesQuery{Meta: meta, SessionID: f.SessionID,
			Page: readmodels.PageQuery{AfterSeq: after, Limit: min(limit-len(answer.Messages), readmodels.MaxPageLimit)}})
		if err != nil {
			c.fail(r, err)
			return
		}
		answer.Messages = append(answer.Messages, page.Messages...)
		answer.LastSeq = max(answer.LastSeq, page.LastSeq)
		answer.HasMore = page.HasMore
		if !page.HasMore || len(page.Messages) == 0 {
			break
		}
		after = page.Messages[len(page.Messages)-1].Seq
	}
	c.reply(r, answer)
}

func (c *conn) handleTyping(ctx context.Context, r *request) {
	f := r.frame
	if err := c.h.cfg.Queries.CheckAccess(ctx, c.user.UserID, f.SessionID); err != nil {
		c.fail(r, err)
		return
	}
	if err := c.h.cfg.Hub.PublishTyping(c.user.UserID, f.SessionID); err != nil {
		c.fail(r, err)
		return
	}
	c.ok(r)
}

// allowFrame takes one frame from the connection's frame budget; over the
// budget it answers the frame with rate_limited and returns false.
func (c *conn) allowFrame(r *request) bool {
	if c.frames == nil {
		// Made at the first frame: a connection that only listens does
		// without.
		l := c.h.cfg.Limits
		c.frames = rate.NewLimiter(rate.Limit(l.FrameRate), l.FrameBurst)
	}
	if c.frames.Allow() {
		return true
	}
	c.h.cfg.Metrics.RateLimited.Inc()
	c.refuse(r, &wire.Error{Code: wire.CodeRateLimited, Message: "too many frames: slow down and retry"})
	return false
}

// ok answers a frame that carried an id.
func (c *conn) ok(r *request) {
	if r.frame.ID != "" {
		c.reply(r, wire.OKFrame{Type: wire.TypeOK, ID: r.frame.ID})
	}
}

// fail answers a frame with the wire form of a handler's error; internal and
// unavailable errors, whose details the client does not see, are logged.
func (c *conn) fail(r *request, err error) {
	we := wire.FromError(err)
	if we.Code == wire.CodeInternal || we.Code == wire.CodeUnavailable {
		c.logFrame(r, slog.LevelWarn, "websocket frame failed", slog.Any("err", err))
	}
	c.refuse(r, we)
}

// refuse sends an error frame echoing the frame's id and, for a send, its
// clientMessageId.
func (c *conn) refuse(r *request, we *wire.Error) {
	r.answer = we.Code
	c.h.cfg.Metrics.FrameErrors.WithLabelValues(we.Code).Inc()
	f := r.frame
	if f.Type != wire.TypeSend {
		f.ClientMessageID = ""
	}
	b, err := json.Marshal(wire.NewErrorFrame(f, we))
	if err != nil {
		c.logFrame(r, slog.LevelError, "websocket: cannot encode error frame", slog.Any("err", err))
		b = nil
	}
	c.answer(r, b)
}

// reply sends the answer to a frame; an answer that cannot be encoded becomes
// an internal error, so that the frame still gets exactly one answer.
func (c *conn) reply(r *request, frame any) {
	b, err := json.Marshal(frame)
	if err != nil {
		c.fail(r, fmt.Errorf("encode %s answer: %w", r.frame.Type, err))
		return
	}
	c.answer(r, b)
}

// answer puts a frame's answer (nil: none) in its place in the line of
// answers; it goes out once every earlier frame's has.
func (c *conn) answer(r *request, b []byte) {
	c.answers.fill(r.slot, b, func(f []byte) { c.Enqueue(f) })
}
