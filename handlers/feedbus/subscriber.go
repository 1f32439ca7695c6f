package feedbus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	wmjs "github.com/ThreeDotsLabs/watermill-nats/v2/pkg/jetstream"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// NATSSubscriberConfig configures a NATSSubscriber.
type NATSSubscriberConfig struct {
	// URL is the NATS server. Required.
	URL string
	// Topic is the feed's topic (default DefaultTopic).
	Topic string
	// Stream is the feed's stream (default StreamName(Topic)).
	Stream string
	// Durable names the consumer, which the server keeps between runs: a
	// subscriber that comes back under the same name resumes after the last
	// message it acked. Letters, digits, _ and - only. Required.
	Durable string
	// AckWait is how long the server waits for the ack of a delivered
	// message before it delivers it again (default 30 s).
	AckWait time.Duration
	// Logger receives the subscriber's failures (default slog.Default()).
	Logger *slog.Logger
}

func (c *NATSSubscriberConfig) setDefaults() {
	if c.Topic == "" {
		c.Topic = DefaultTopic
	}
	if c.Stream == "" {
		c.Stream = StreamName(c.Topic)
	}
	if c.AckWait <= 0 {
		c.AckWait = 30 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}

// Validate reports a configuration the subscriber cannot work with.
func (c NATSSubscriberConfig) Validate() error {
	if c.URL == "" {
		return errors.New("nats feed subscriber config: no URL")
	}
	if err := ValidateTopic(c.Topic); err != nil {
		return fmt.Errorf("nats feed subscriber config: %w", err)
	}
	if !streamNamePattern.MatchString(c.Stream) {
		return fmt.Errorf("nats feed subscriber config: stream %q: want letters, digits, _ or -", c.Stream)
	}
	if !streamNamePattern.MatchString(c.Durable) {
		return fmt.Errorf("nats feed subscriber config: durable %q: want 1-255 letters, digits, _ or -", c.Durable)
	}
	return nil
}

// NATSSubscriber reads the analytics feed through a durable JetStream
// consumer and hands it over as watermill messages (message.Subscriber),
// unmarshalled by watermill-nats' pkg/jetstream unmarshaler, so metadata are
// the NATS headers of NewMessage.
//
// The consumer starts, the first time, at the oldest message the stream
// still holds, and from then on after the last message acked under its
// Durable name, across restarts of the subscriber. It lets one message at a
// time be unacked (MaxAckPending 1), so messages arrive in stream order even
// when one is redelivered: the next comes only after the previous is acked.
// Ack is confirmed by the server before the next message is asked for; Nack
// has the message delivered again at once. Delivery is at least once: a
// message handed over but not acked when the subscriber stops comes again,
// to the next subscriber under the same name, after AckWait.
//
// It does not use watermill-nats' pkg/jetstream Subscriber, which closes
// its output channel while a message may still be sent on it when the
// subscription ends (a data race, and a possible panic): here one goroutine
// per subscription both sends on and closes its channel.
type NATSSubscriber struct {
	cfg  NATSSubscriberConfig
	conn *nats.Conn
	js   jetstream.JetStream

	// closing ends every subscription; wg waits for them.
	closing   context.Context
	close     context.CancelFunc
	wg        sync.WaitGroup
	closeOnce sync.Once
}

var _ message.Subscriber = (*NATSSubscriber)(nil)

// NewNATSSubscriber connects to the server. The stream must exist (a relay's
// NATSFeed creates it) by the time Subscribe is called.
func NewNATSSubscriber(cfg NATSSubscriberConfig) (*NATSSubscriber, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	conn, err := nats.Connect(cfg.URL, nats.Name("tellyou-feed-"+cfg.Durable), nats.MaxReconnects(-1))
	if err != nil {
		return nil, fmt.Errorf("connect to NATS at %s: %w", cfg.URL, err)
	}
	js, err := jetstream.New(conn)
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("open JetStream: %w", err)
	}
	closing, closeFn := context.WithCancel(context.Background())
	return &NATSSubscriber{cfg: cfg, conn: conn, js: js, closing: closing, close: closeFn}, nil
}

// Subscribe delivers the feed's messages until ctx ends or Close is called;
// then the channel is closed. topic must be the configured Topic. Ack each
// message once it is processed; Nack has it delivered again.
func (s *NATSSubscriber) Subscribe(ctx context.Context, topic string) (<-chan *message.Message, error) {
	if topic != s.cfg.Topic {
		return nil, fmt.Errorf("subscribe to %q: this subscriber reads %q", topic, s.cfg.Topic)
	}
	if s.closing.Err() != nil {
		return nil, errors.New("subscribe to " + topic + ": subscriber closed")
	}
	c, err := s.js.CreateOrUpdateConsumer(ctx, s.cfg.Stream, jetstream.ConsumerConfig{
		Durable:       s.cfg.Durable,
		FilterSubject: topic,
		AckPolicy:     jetstream.AckExplicitPolicy,
		DeliverPolicy: jetstream.DeliverAllPolicy,
		AckWait:       s.cfg.AckWait,
		MaxAckPending: 1,
	})
	if err != nil {
		return nil, fmt.Errorf("create consumer %s of stream %s: %w", s.cfg.Durable, s.cfg.Stream, err)
	}
	it, err := c.Messages()
	if err != nil {
		return nil, fmt.Errorf("consume %s as %s: %w", topic, s.cfg.Durable, err)
	}
	ctx, cancel := context.WithCancel(ctx)
	stopOnClose := context.AfterFunc(s.closing, cancel)
	stopIterator := context.AfterFunc(ctx, it.Stop)
	out := make(chan *message.Message)
	s.wg.Go(func() {
		defer close(out)
		defer stopOnClose()
		defer stopIterator()
		defer cancel()
		defer it.Stop()
		s.deliver(ctx, it, out)
	})
	return out, nil
}

// deliver hands messages over one at a time and settles each with the
// server, until ctx ends.
func (s *NATSSubscriber) deliver(ctx context.Context, it jetstream.MessagesContext, out chan<- *message.Message) {
	for {
		jm, err := it.Next()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, jetstream.ErrMsgIteratorClosed) {
				return
			}
			s.cfg.Logger.Warn("feed subscriber: reading the consumer failed", "durable", s.cfg.Durable, "err", err)
			continue
		}
		m, err := wmjs.DefaultUnmarshaler{}.Unmarshal(jm)
		if err != nil {
			// Only a message with a header given twice gets here: no
			// relay writes one, and no retry would read it better.
			s.cfg.Logger.Error("feed subscriber: dropping a message it cannot read", "durable", s.cfg.Durable, "err", err)
			_ = jm.Term()
			continue
		}
		msgCtx, done := context.WithCancel(ctx)
		m.SetContext(msgCtx)
		settled := s.handOver(ctx, jm, m, out)
		done()
		if !settled {
			return
		}
	}
}

// handOver sends m on out and waits for its Ack or Nack, which it passes on
// to the server. It returns false when ctx ended first: the message is left
// unacked and comes again after AckWait. (Nacking it at that point would be
// quicker, but NATS 2.9 may then deliver it twice to the next subscriber.)
func (s *NATSSubscriber) handOver(ctx context.Context, jm jetstream.Msg, m *message.Message, out chan<- *message.Message) bool {
	select {
	case out <- m:
	case <-ctx.Done():
		return false
	}
	select {
	case <-m.Acked():
		s.ack(jm, m)
		return true
	case <-m.Nacked():
		_ = jm.Nak()
		return true
	case <-ctx.Done():
		// An Ack given before the subscription ended still counts.
		select {
		case <-m.Acked():
			s.ack(jm, m)
		default:
		}
		return false
	}
}

// ack acks jm and waits for the server's confirmation, so that a subscriber
// that stops right after an Ack does not see the message again.
func (s *NATSSubscriber) ack(jm jetstream.Msg, m *message.Message) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := jm.DoubleAck(ctx); err != nil {
		s.cfg.Logger.Warn("feed subscriber: ack failed; the message will come again", "durable", s.cfg.Durable, "uuid", m.UUID, "err", err)
	}
}

// Close ends the subscriptions, waits until their channels are closed, and
// closes the connection; the durable consumer stays on the server.
func (s *NATSSubscriber) Close() error {
	s.closeOnce.Do(func() {
		s.close()
		s.wg.Wait()
		s.conn.Close()
	})
	return nil
}

// DeleteConsumer removes the durable consumer from the server: the next
// subscriber under its name starts again at the oldest message. Call it
// before Close.
func (s *NATSSubscriber) DeleteConsumer(ctx context.Context) error {
	if err := s.js.DeleteConsumer(ctx, s.cfg.Stream, s.cfg.Durable); err != nil && !errors.Is(err, jetstream.ErrConsumerNotFound) {
		return fmt.Errorf("delete consumer %s of stream %s: %w", s.cfg.Durable, s.cfg.Stream, err)
	}
	return nil
}
