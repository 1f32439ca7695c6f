package ws

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/tellyou/tellyou/handlers/command"
	"github.com/tellyou/tellyou/handlers/transport/wire"
)

// Pipelining: a client may send its frames without waiting for their
// answers. The reader starts each send and ack as soon as it has read it
// (handlers' Start: queued on its session in the order read, so one
// session's sends are decided in that order, and a connection's sends to one
// session are appended together when they queue up), and reads on, up to
// Limits.MaxPipelined frames started and not answered; past that it stops
// reading the socket until the oldest is answered, which pushes back on the
// client. It waits so at most Limits.WindowWait at a time: the frames in the
// window may each take their whole deadline (a database that does not
// answer), and a frame the client wrote meanwhile would then be answered only
// that long after its own deadline; frames read once the window has been full
// for WindowWait are answered overloaded instead (see takeWindow). A recall
// or sync waits for the frames started before it, so that
// it sees what they did. Whatever order the commands finish in, the answers
// go out in the order of the frames (answerLine).

// answerLine holds a connection's answers until every earlier frame's is
// ready, so that answers go out in the order the frames came. It is not the
// reader's alone: pipelined frames are answered from their own goroutines.
type answerLine struct {
	mu    sync.Mutex
	slots []*answerSlot
}

// answerSlot is one frame's place in the line: its answer once ready (nil
// for a frame that gets none).
type answerSlot struct {
	ready bool
	frame []byte
}

// reserve takes the next place in the line, for a frame just read.
func (l *answerLine) reserve() *answerSlot {
	s := &answerSlot{}
	l.mu.Lock()
	l.slots = append(l.slots, s)
	l.mu.Unlock()
	return s
}

// fill sets a frame's answer (nil: none) and sends every answer that is now
// at the head of the line, in order, with send. A slot is filled once; later
// fills are ignored.
func (l *answerLine) fill(s *answerSlot, frame []byte, send func([]byte)) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if s.ready {
		return
	}
	s.ready, s.frame = true, frame
	n := 0
	for n < len(l.slots) && l.slots[n].ready {
		if f := l.slots[n].frame; f != nil {
			send(f)
		}
		l.slots[n] = nil
		n++
	}
	l.slots = l.slots[n:]
	if len(l.slots) == 0 {
		l.slots = nil
	}
}

// waiting returns the number of frames whose answers are not sent yet.
func (l *answerLine) waiting() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.slots)
}

// maxWaitingAnswers bounds, in windows, the answers that may wait in a
// connection's line while its window stays full (32 x 32 = 1,024, some
// 200 KB): enough for a client that acks every push of a busy session (20
// acks a second for the 10 s the oldest frame may take), few enough that a
// client that floods is pushed back.
const maxWaitingAnswers = 32

// takeWindow takes a place in the connection's window for a pipelined frame
// and reports whether it got one. While the window is full the reader waits
// for a place, until the window has been full for Limits.WindowWait; from
// then until a place comes free, frames are not taken (false: the caller
// answers them overloaded). Their answers go out in the frames' order, so
// after those of the frames in the window, each of which ends by its
// deadline. A frame reaches the reader at most WindowWait after it reached
// the connection and is then answered within HandleTimeout: within
// WindowWait + HandleTimeout in all. A client that keeps writing regardless
// is pushed back again: once maxWaitingAnswers x MaxPipelined answers wait
// in the line, the reader waits for a place without bound.
func (c *conn) takeWindow() bool {
	if c.window == nil {
		c.window = make(chan struct{}, c.h.cfg.Limits.MaxPipelined)
		c.ctx, c.cancel = context.WithCancel(c.h.base)
	}
	select {
	case c.window <- struct{}{}:
		c.windowFull = time.Time{}
		return true
	default:
	}
	now := time.Now()
	if c.windowFull.IsZero() {
		c.windowFull = now
	}
	if wait := c.windowFull.Add(c.h.cfg.Limits.WindowWait).Sub(now); wait > 0 {
		t := time.NewTimer(wait)
		defer t.Stop()
		select {
		case c.window <- struct{}{}:
			c.windowFull = time.Time{}
			return true
		case <-t.C:
		}
	}
	if c.answers.waiting() > maxWaitingAnswers*c.h.cfg.Limits.MaxPipelined {
		c.window <- struct{}{}
		c.windowFull = time.Time{}
		return true
	}
	return false
}

// windowRefusal is the error of a frame not taken for want of a place in the
// window: the client may send it again once it has the answers before it.
func (c *conn) windowRefusal() *command.OverloadError {
	return &command.OverloadError{RetryAfter: time.Second,
		Reason: fmt.Sprintf("%d frames of this connection are in progress", c.h.cfg.Limits.MaxPipelined)}
}

// startPipelined runs a pipelined frame's command on a goroutine of its own,
// once takeWindow gave it a place: it calls start, which queues the command
// and returns a function that waits for it and answers the frame. The
// frame's context lasts until it is answered.
func (c *conn) startPipelined(start func(ctx context.Context) func(), r *request) {
	c.mu.Lock()
	c.inflight++
	c.mu.Unlock()
	c.started.Add(1)
	ctx, cancel := context.WithTimeout(c.ctx, c.h.cfg.Limits.HandleTimeout)
	finish := start(ctx)
	go func() {
		defer c.started.Done()
		finish()
		c.answer(r, nil) // a frame without an answer still leaves the line
		cancel()
		c.logHandled(r)
		<-c.window
		c.mu.Lock()
		c.inflight--
		if c.inflight == 0 && !c.busy && c.draining {
			c.requestCloseLocked(goingAway, true)
		}
		c.mu.Unlock()
	}()
}

// awaitDeadline waits until done is closed or the frame's deadline (ctx's)
// passes, and returns context.DeadlineExceeded in the second case: the frame
// is answered unavailable at its deadline even while its command waits on a
// database that does not answer (commands appended together are bounded by
// the command handlers' own timeout, not by each frame's). The command may
// still complete afterwards; the same frame sent again learns its outcome (a
// send stored meanwhile is acked as a duplicate). When ctx is cancelled
// instead (the connection is gone), it waits for done, so that the
// connection does not finish before its commands.
func awaitDeadline(ctx context.Context, done <-chan struct{}) error {
	select {
	case <-done:
		return nil
	case <-ctx.Done():
	}
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		select {
		case <-done: // finished just now: its own answer is better
			return nil
		default:
			return ctx.Err()
		}
	}
	<-done
	return nil
}

// waitStarted waits until every pipelined frame read so far is answered.
// Only the reader calls it.
func (c *conn) waitStarted() { c.started.Wait() }

// gateOf is the connection's line of commands for admission (see
// command.Gate), made at its first command.
func (c *conn) gateOf() *command.Gate {
	if c.gate == nil {
		c.gate = &command.Gate{}
	}
	return c.gate
}

// pipelineSend starts a send; it is answered by sendAck or an error, in the
// order of the frames.
func (c *conn) pipelineSend(r *request, meta command.RequestMeta) {
	f := r.frame
	m := c.h.cfg.Metrics
	if !c.sends.Allow() {
		m.RateLimited.Inc()
		c.refuse(r, &wire.Error{Code: wire.CodeRateLimited, Message: "too many messages: slow down and retry"})
		return
	}
	if wait := c.hold.check(f.ClientMessageID, time.Now()); wait > 0 {
		c.fail(r, &command.OverloadError{RetryAfter: wait, Reason: "an earlier send of this connection was refused and is not resent yet"})
		return
	}
	var clientTS int64
	if f.ClientTimestamp != nil {
		clientTS = *f.ClientTimestamp
	}
	if !c.takeWindow() {
		c.refuseSend(r, c.windowRefusal())
		return
	}
	gate := c.gateOf()
	c.startPipelined(func(ctx context.Context) func() {
		c.client.BeginSend(f.ClientMessageID)
		p := c.h.cfg.Commands.Send.Start(ctx, command.Send{
			Meta: meta, SessionID: f.SessionID, ToUserID: f.ToUserID, MessageType: *f.MessageType,
			Content: *f.Content, Ext: f.Ext, ClientMessageID: f.ClientMessageID, ClientTimestamp: clientTS,
			ReplyTo: f.ReplyTo,
		}, gate)
		return func() {
			if err := awaitDeadline(ctx, p.Done()); err != nil {
				// It may still be stored: it stays this connection's own
				// (no ForgetSend), so that the hub does not push it here.
				c.fail(r, fmt.Errorf("send %s: %w", f.ClientMessageID, err))
				return
			}
			ack, err := p.Wait()
			if err != nil {
				c.client.ForgetSend(f.ClientMessageID)
				var overloaded *command.OverloadError
				if errors.As(err, &overloaded) {
					c.refuseSend(r, overloaded)
					return
				}
				c.fail(r, err)
				return
			}
			if !ack.Duplicate {
				m.MessagesSent.Inc()
			}
			c.reply(r, wire.SendAckFrame{
				Type: wire.TypeSendAck, ID: f.ID, ClientMessageID: f.ClientMessageID, SessionID: ack.SessionID,
				MessageID: ack.MessageID, Seq: ack.Seq, ServerTimestamp: ack.ServerTimestamp,
				AdjustedTimestamp: ack.AdjustedTimestamp, Duplicate: ack.Duplicate,
			})
			m.SendAckLatency.Observe(time.Since(r.arrived).Seconds())
		}
	}, r)
}

// refuseSend answers a send refused as overloaded, after holding the
// connection's other sends until it comes back (before the answer: the client
// resends only after it).
func (c *conn) refuseSend(r *request, refusal *command.OverloadError) {
	c.hold.refused(r.frame.ClientMessageID, r.arrived, refusal.RetryAfter, time.Now())
	c.fail(r, refusal)
}

// pipelineAck starts an ack; it is answered ok (with an id) or an error, in
// the order of the frames.
func (c *conn) pipelineAck(r *request, meta command.RequestMeta) {
	f := r.frame
	if !c.takeWindow() {
		c.fail(r, c.windowRefusal())
		return
	}
	gate := c.gateOf()
	c.startPipelined(func(ctx context.Context) func() {
		p := c.h.cfg.Commands.Ack.Start(ctx, command.Ack{Meta: meta, SessionID: f.SessionID, Seq: *f.Seq, AckType: f.AckType}, gate)
		return func() {
			if err := awaitDeadline(ctx, p.Done()); err != nil {
				c.fail(r, fmt.Errorf("ack %s@%d: %w", f.SessionID, *f.Seq, err))
				return
			}
			res, err := p.Wait()
			if err != nil {
				c.fail(r, err)
				return
			}
			// Stop redelivery to all of the user's connections here at
			// once; other nodes learn it from the MessagesReceived event.
			c.h.cfg.Hub.Acked(c.user.UserID, f.SessionID, res.ReceivedSeq)
			c.ok(r)
		}
	}, r)
}
