// Package jsmsg hands the messages of a NATS JetStream consumer over as
// watermill messages, one at a time, from one goroutine that both sends on
// and closes the channel.
//
// watermill-nats' pkg/jetstream Subscriber closes its output channel while a
// consumer callback may still be sending on it when a subscription ends: a
// data race, and at times a "send on closed channel" panic that takes the
// process down. Both the push bus between nodes and the analytics feed's
// subscriber consume through this package instead.
package jsmsg

import (
	"context"
	"errors"
	"log/slog"
	"time"

	wmjs "github.com/ThreeDotsLabs/watermill-nats/v2/pkg/jetstream"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/nats-io/nats.go/jetstream"
)

// ackTimeout bounds the wait for the server's confirmation of an ack.
const ackTimeout = 5 * time.Second

// Options tune Consume.
type Options struct {
	// ConfirmAcks waits for the server to confirm each ack before the next
	// message, so that a consumer stopped right after an Ack does not see the
	// message again. Without it acks are sent and not waited for.
	ConfirmAcks bool
	// Name names the consumer in log lines.
	Name string
	// Logger receives read and ack failures (default slog.Default()).
	Logger *slog.Logger
}

// Consume delivers c's messages on the returned channel until ctx ends, then
// closes it; done is closed once the delivering goroutine has returned. The
// next message is handed over only after the previous one is acked or nacked,
// so messages arrive in the consumer's order. Ack is passed on to the server;
// Nack has the message delivered again at once (before later messages only
// when the consumer's MaxAckPending is 1). A message handed over but not
// settled when ctx ends is left unacked: the server delivers it again after
// the consumer's AckWait. Metadata are the NATS headers (watermill-nats'
// default unmarshaler).
func Consume(ctx context.Context, c jetstream.Consumer, opts Options) (out <-chan *message.Message, done <-chan struct{}, err error) {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	it, err := c.Messages()
	if err != nil {
		return nil, nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	stopIterator := context.AfterFunc(ctx, it.Stop)
	msgs := make(chan *message.Message)
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		defer close(msgs)
		defer stopIterator()
		defer cancel()
		defer it.Stop()
		deliver(ctx, it, msgs, opts)
	}()
	return msgs, finished, nil
}

// deliver hands messages over one at a time and settles each with the
// server, until ctx ends.
func deliver(ctx context.Context, it jetstream.MessagesContext, out chan<- *message.Message, opts Options) {
	for {
		jm, err := it.Next()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, jetstream.ErrMsgIteratorClosed) {
				return
			}
			opts.Logger.Warn("jetstream consumer: reading failed", "consumer", opts.Name, "err", err)
			continue
		}
		m, err := wmjs.DefaultUnmarshaler{}.Unmarshal(jm)
		if err != nil {
			// A message with a header given twice: no retry reads it better.
			opts.Logger.Error("jetstream consumer: dropping a message it cannot read", "consumer", opts.Name, "err", err)
			_ = jm.Term()
			continue
		}
		msgCtx, msgDone := context.WithCancel(ctx)
		m.SetContext(msgCtx)
		settled := handOver(ctx, jm, m, out, opts)
		msgDone()
		if !settled {
			return
		}
	}
}

// handOver sends m on out and waits for its Ack or Nack, which it passes on
// to the server. It returns false when ctx ended first: the message is left
// unacked and comes again after AckWait. (Nacking it at that point would be
// quicker, but NATS 2.9 may then deliver it twice to the next consumer.)
func handOver(ctx context.Context, jm jetstream.Msg, m *message.Message, out chan<- *message.Message, opts Options) bool {
	select {
	case out <- m:
	case <-ctx.Done():
		return false
	}
	select {
	case <-m.Acked():
		ack(jm, m, opts)
		return true
	case <-m.Nacked():
		_ = jm.Nak()
		return true
	case <-ctx.Done():
		// An Ack given before the subscription ended still counts.
		select {
		case <-m.Acked():
			ack(jm, m, opts)
		default:
		}
		return false
	}
}

func ack(jm jetstream.Msg, m *message.Message, opts Options) {
	var err error
	if opts.ConfirmAcks {
		ctx, cancel := context.WithTimeout(context.Background(), ackTimeout)
		defer cancel()
		err = jm.DoubleAck(ctx)
	} else {
		err = jm.Ack()
	}
	if err != nil {
		opts.Logger.Warn("jetstream consumer: ack failed; the message will come again", "consumer", opts.Name, "uuid", m.UUID, "err", err)
	}
}
