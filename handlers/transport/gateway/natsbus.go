package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	wmnats "github.com/ThreeDotsLabs/watermill-nats/v2/pkg/nats"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/tellyou/tellyou/handlers/delivery"
	"github.com/tellyou/tellyou/handlers/jsmsg"
)

// NATSBusConfig configures a NATSBus.
type NATSBusConfig struct {
	// URL is the NATS server, e.g. nats://127.0.0.1:4222. Required; the
	// server must have JetStream enabled.
	URL string
	// Prefix names everything the bus creates on the server, so that
	// deployments (and test runs) sharing one server never see each other's
	// events: the stream and its subject are "<Prefix>_events", typing
	// notices go to the core subject "<Prefix>.typing", presence to
	// "<Prefix>.presence". Letters, digits, _ and - only. Default "tellyou".
	Prefix string
	// DuplicateWindow is how long the stream remembers the event ids it
	// stored, and so drops the copies other nodes publish (default 5 min).
	DuplicateWindow time.Duration
	// MaxAge is how long the stream keeps an event (default 10 min, at least
	// DuplicateWindow). Hubs start at new events, so nothing older is read;
	// the stream holds what a slow hub has yet to consume.
	MaxAge time.Duration
	// MaxBytes caps the stream's memory; past it the oldest events go
	// (default 256 MiB).
	MaxBytes int64
	// Logger receives the bus's failures (default slog.Default()).
	Logger *slog.Logger
}

var prefixPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// publishAckTimeout bounds the wait for the stream's acks of one Publish.
const publishAckTimeout = 5 * time.Second

func (c *NATSBusConfig) setDefaults() {
	if c.Prefix == "" {
		c.Prefix = "tellyou"
	}
	if c.DuplicateWindow <= 0 {
		c.DuplicateWindow = 5 * time.Minute
	}
	if c.MaxAge <= 0 {
		c.MaxAge = 10 * time.Minute
	}
	c.MaxAge = max(c.MaxAge, c.DuplicateWindow)
	if c.MaxBytes <= 0 {
		c.MaxBytes = 256 << 20
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}

// Validate reports a configuration the bus cannot work with.
func (c NATSBusConfig) Validate() error {
	if c.URL == "" {
		return errors.New("nats bus config: no URL")
	}
	if !prefixPattern.MatchString(c.Prefix) {
		return fmt.Errorf("nats bus config: prefix %q: want 1-64 letters, digits, _ or -", c.Prefix)
	}
	return nil
}

// NATSBus is the PubSub between the nodes of a deployment: events go through
// a JetStream stream, typing notices through core NATS.
//
// Events (EventsTopic) go through one memory stream, "<Prefix>_events", whose
// only subject has the same name, encoded as watermill-nats encodes them.
// A node publishes the events it appended (the fast path of delivery); the
// message UUID is the event id and goes out as the Nats-Msg-Id header, so the
// stream stores a repeated publish once within DuplicateWindow. The messages
// of one Publish are published asynchronously and acked together, in order.
//
// Each Subscribe to EventsTopic creates its own ephemeral consumer (explicit
// acks, delivering only messages stored from then on): every hub receives
// every event, none shares a queue group with another node. A consumer whose
// node stopped is deleted at once, one whose node died after 10 s without
// pulls. Messages reach the subscriber one at a time, the next after the
// previous is acked (handlers/jsmsg, not watermill-nats' pkg/jetstream
// Subscriber, which can panic when a subscription ends).
//
// Typing notices (TypingTopic) and presence (PresenceTopic) are published
// and received with pkg/nats over core NATS: no stream keeps them, a node
// that is down misses them.
type NATSBus struct {
	cfg       NATSBusConfig
	conn      *nats.Conn
	js        jetstream.JetStream
	marshaler *wmnats.NATSMarshaler
	// subscriptions ends the events subscriptions (handlers/jsmsg); each
	// runs in subscribed until its channel is closed and its consumer gone.
	subscriptions context.Context
	endSubs       context.CancelFunc
	subscribed    sync.WaitGroup
	typing        *wmnats.Publisher
	typingIn      *wmnats.Subscriber
}

var _ delivery.Bus = (*NATSBus)(nil)

// NewNATSBus connects to the server and creates or updates the events stream.
func NewNATSBus(ctx context.Context, cfg NATSBusConfig) (*NATSBus, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	logger := watermill.NewSlogLoggerWithLevelMapping(cfg.Logger, map[slog.Level]slog.Level{slog.LevelInfo: slog.LevelDebug})
	conn, err := nats.Connect(cfg.URL, nats.Name("tellyou"), nats.MaxReconnects(-1))
	if err != nil {
		return nil, fmt.Errorf("connect to NATS at %s: %w", cfg.URL, err)
	}
	b := &NATSBus{cfg: cfg, conn: conn}
	if err := b.open(ctx, logger); err != nil {
		conn.Close()
		return nil, err
	}
	return b, nil
}

func (b *NATSBus) open(ctx context.Context, logger watermill.LoggerAdapter) error {
	var err error
	if b.js, err = jetstream.New(b.conn); err != nil {
		return fmt.Errorf("open JetStream: %w", err)
	}
	if err := b.createStream(ctx); err != nil {
		return err
	}
	b.marshaler = &wmnats.NATSMarshaler{}
	b.subscriptions, b.endSubs = context.WithCancel(context.Background())
	core := wmnats.JetStreamConfig{Disabled: true}
	b.typing, err = wmnats.NewPublisherWithNatsConn(b.conn, wmnats.PublisherPublishConfig{
		Marshaler: &wmnats.NATSMarshaler{}, SubjectCalculator: wmnats.DefaultSubjectCalculator, JetStream: core}, logger)
	if err != nil {
		return fmt.Errorf("typing publisher: %w", err)
	}
	b.typingIn, err = wmnats.NewSubscriberWithNatsConn(b.conn, wmnats.SubscriberSubscriptionConfig{
		Unmarshaler: &wmnats.NATSMarshaler{}, JetStream: core, CloseTimeout: 5 * time.Second}, logger)
	if err != nil {
		return fmt.Errorf("typing subscriber: %w", err)
	}
	return nil
}

// subscribeEvents consumes the events stream through a consumer of its own,
// deleted when the subscription ends (else InactiveThreshold removes it).
//
// After each reconnection to the server, and when the consumption ends by
// itself, it starts over with a new consumer, creating the stream again if
// need be: a restarted server has lost the memory stream and every consumer
// of it, and a pull consumer that is gone delivers nothing and reports no
// error. What was published in between is not seen over the bus; the
// followers of the log deliver it.
func (b *NATSBus) subscribeEvents(ctx context.Context, topic string) (<-chan *message.Message, error) {
	if b.subscriptions.Err() != nil {
		return nil, errors.New("subscribe to " + topic + ": bus closed")
	}
	ctx, cancel := context.WithCancel(ctx)
	stopOnClose := context.AfterFunc(b.subscriptions, cancel)
	reconnected := b.conn.StatusChanged(nats.CONNECTED)
	in, end, err := b.consumeEvents(ctx, topic)
	if err != nil {
		b.conn.RemoveStatusListener(reconnected)
		stopOnClose()
		cancel()
		return nil, err
	}
	out := make(chan *message.Message)
	b.subscribed.Go(func() {
		defer close(out)
		defer b.conn.RemoveStatusListener(reconnected)
		defer stopOnClose()
		defer cancel()
		for {
			forward(ctx, in, out, reconnected)
			end()
			for {
				if ctx.Err() != nil {
					return
				}
				if in, end, err = b.consumeEvents(ctx, topic); err == nil {
					break
				}
				b.cfg.Logger.Warn("nats bus: consuming the events stream again failed, retrying", "topic", topic, "err", err)
				select {
				case <-ctx.Done():
				case <-time.After(time.Second):
				}
			}
		}
	})
	return out, nil
}

// consumeEvents creates the events stream if the server lacks it, and a
// consumer of it, and consumes it until end is called.
func (b *NATSBus) consumeEvents(ctx context.Context, topic string) (in <-chan *message.Message, end func(), err error) {
	// Create, not update: nats-server 2.9 lists a stream it is creating
	// before its store exists, and an update from another node in that
	// moment dereferences the nil store and brings the server down
	// (stream.updateWithAdvisory); a create finds the stream and answers.
	if _, err := b.js.CreateStream(ctx, b.streamConfig()); err != nil && !errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
		return nil, nil, fmt.Errorf("create stream %s: %w", topic, err)
	}
	cfg := jetstream.ConsumerConfig{
		Name:              topic + "_hub_" + watermill.NewShortUUID(),
		AckPolicy:         jetstream.AckExplicitPolicy,
		DeliverPolicy:     jetstream.DeliverNewPolicy,
		AckWait:           30 * time.Second,
		InactiveThreshold: 10 * time.Second,
	}
	c, err := b.js.CreateOrUpdateConsumer(ctx, topic, cfg)
	if err != nil {
		return nil, nil, fmt.Errorf("create consumer of %s: %w", topic, err)
	}
	deleteConsumer := func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = b.js.DeleteConsumer(ctx, topic, cfg.Name)
	}
	ctx, cancel := context.WithCancel(ctx)
	in, done, err := jsmsg.Consume(ctx, c, jsmsg.Options{Name: cfg.Name, Logger: b.cfg.Logger})
	if err != nil {
		cancel()
		deleteConsumer()
		return nil, nil, fmt.Errorf("consume %s: %w", topic, err)
	}
	return in, func() {
		cancel()
		<-done
		deleteConsumer()
	}, nil
}

// forward passes the messages of in on to out until ctx ends, in is closed
// or the connection is up again after a loss.
func forward(ctx context.Context, in <-chan *message.Message, out chan<- *message.Message, reconnected <-chan nats.Status) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-reconnected:
			return
		case m, ok := <-in:
			if !ok {
				return
			}
			select {
			case out <- m:
			case <-ctx.Done():
				return
			case <-reconnected:
				return
			}
		}
	}
}

// createStream creates the events stream, or updates it to the bus's
// settings.
func (b *NATSBus) createStream(ctx context.Context) error {
	if _, err := b.js.CreateOrUpdateStream(ctx, b.streamConfig()); err != nil {
		return fmt.Errorf("create stream %s: %w", b.EventsTopic(), err)
	}
	return nil
}

func (b *NATSBus) streamConfig() jetstream.StreamConfig {
	stream := b.EventsTopic()
	return jetstream.StreamConfig{
		Name: stream, Subjects: []string{stream}, Storage: jetstream.MemoryStorage,
		Retention: jetstream.LimitsPolicy, Discard: jetstream.DiscardOld,
		MaxAge: b.cfg.MaxAge, MaxBytes: b.cfg.MaxBytes, Duplicates: b.cfg.DuplicateWindow,
	}
}

// EventsTopic is the topic (stream and subject) of the log's events.
func (b *NATSBus) EventsTopic() string { return b.cfg.Prefix + "_events" }

// TypingTopic is the core NATS subject of typing notices.
func (b *NATSBus) TypingTopic() string { return b.cfg.Prefix + ".typing" }

// PresenceTopic is the core NATS subject of presence (handlers/presence).
func (b *NATSBus) PresenceTopic() string { return b.cfg.Prefix + ".presence" }

// Publish sends messages on EventsTopic through the stream, with their UUID
// as Nats-Msg-Id, and any other topic over core NATS. The messages of one
// call go out at once (asynchronous publishes) and Publish returns once the
// stream has acked every one, or with the first failure: one round trip for
// the whole call, and the stream stores them in the order given.
func (b *NATSBus) Publish(topic string, msgs ...*message.Message) error {
	if topic != b.EventsTopic() {
		return b.typing.Publish(topic, msgs...)
	}
	futures := make([]jetstream.PubAckFuture, 0, len(msgs))
	for _, m := range msgs {
		nm, err := b.marshaler.Marshal(topic, m)
		if err != nil {
			return fmt.Errorf("encode %s for %s: %w", m.UUID, topic, err)
		}
		nm.Header.Set(nats.MsgIdHdr, m.UUID)
		f, err := b.js.PublishMsgAsync(nm)
		if err != nil {
			return fmt.Errorf("publish %s on %s: %w", m.UUID, topic, err)
		}
		futures = append(futures, f)
	}
	timeout := time.NewTimer(publishAckTimeout)
	defer timeout.Stop()
	for _, f := range futures {
		select {
		case <-f.Ok():
		case err := <-f.Err():
			return fmt.Errorf("publish on %s: %w", topic, err)
		case <-timeout.C:
			return fmt.Errorf("publish on %s: no ack from the stream within %s", topic, publishAckTimeout)
		}
	}
	return nil
}

// Subscribe consumes EventsTopic through a consumer of its own (see
// NATSBus), any other topic over core NATS, until ctx ends.
func (b *NATSBus) Subscribe(ctx context.Context, topic string) (<-chan *message.Message, error) {
	if topic != b.EventsTopic() {
		return b.typingIn.Subscribe(ctx, topic)
	}
	return b.subscribeEvents(ctx, topic)
}

// Conn is the bus's connection to the NATS server, for health checks (its
// Status, a round trip with FlushWithContext). It stays the bus's: callers
// must not close or drain it.
func (b *NATSBus) Conn() *nats.Conn { return b.conn }

// Close ends the subscriptions and the connection.
func (b *NATSBus) Close() error {
	b.endSubs()
	b.subscribed.Wait()
	err := b.typingIn.Close()
	b.conn.Close()
	return err
}

// DeleteStream removes the events stream from the server (for tests and
// operators retiring a prefix); nodes still running lose their bus.
func (b *NATSBus) DeleteStream(ctx context.Context) error {
	if err := b.js.DeleteStream(ctx, b.EventsTopic()); err != nil && !errors.Is(err, jetstream.ErrStreamNotFound) {
		return fmt.Errorf("delete stream %s: %w", b.EventsTopic(), err)
	}
	return nil
}
