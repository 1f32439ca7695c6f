package feedbus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/tellyou/tellyou/handlers/jsmsg"
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
// Messages are handed over by handlers/jsmsg (not watermill-nats'
// pkg/jetstream Subscriber, which can panic when a subscription ends).
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
	ctx, cancel := context.WithCancel(ctx)
	stopOnClose := context.AfterFunc(s.closing, cancel)
	out, done, err := jsmsg.Consume(ctx, c, jsmsg.Options{ConfirmAcks: true, Name: s.cfg.Durable, Logger: s.cfg.Logger})
	if err != nil {
		stopOnClose()
		cancel()
		return nil, fmt.Errorf("consume %s as %s: %w", topic, s.cfg.Durable, err)
	}
	s.wg.Go(func() {
		<-done
		stopOnClose()
		cancel()
	})
	return out, nil
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
