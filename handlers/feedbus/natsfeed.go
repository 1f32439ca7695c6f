package feedbus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	wmnats "github.com/ThreeDotsLabs/watermill-nats/v2/pkg/nats"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// NATSConfig configures a NATSFeed.
type NATSConfig struct {
	// URL is the NATS server, e.g. nats://127.0.0.1:4222. Required; the
	// server must have JetStream enabled.
	URL string
	// Topic is the feed's topic, which is also its NATS subject (default
	// DefaultTopic): tokens of letters, digits, _ and - joined by dots.
	Topic string
	// Stream names the JetStream stream that keeps the feed (default
	// StreamName(Topic)).
	Stream string
	// DuplicateWindow is how long the stream remembers the message ids it
	// stored and drops copies of them (default 10 min).
	DuplicateWindow time.Duration
	// MaxAge is how long the stream keeps a message (default 7 days, at
	// least DuplicateWindow): a consumer offline for longer misses events.
	MaxAge time.Duration
	// MaxBytes caps the stream's size; past it the oldest messages go
	// (default 1 GiB).
	MaxBytes int64
	// Storage is where the stream keeps messages (default
	// jetstream.FileStorage, which survives a NATS restart).
	Storage jetstream.StorageType
	// Logger receives the publisher's failures (default slog.Default()).
	Logger *slog.Logger
}

var (
	subjectPattern    = regexp.MustCompile(`^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$`)
	streamNamePattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,255}$`)
)

// StreamName is the default stream of a topic: the topic with dots turned
// into underscores (tellyou.feed → tellyou_feed), as stream names allow no
// dots.
func StreamName(topic string) string { return strings.ReplaceAll(topic, ".", "_") }

func (c *NATSConfig) setDefaults() {
	if c.Topic == "" {
		c.Topic = DefaultTopic
	}
	if c.Stream == "" {
		c.Stream = StreamName(c.Topic)
	}
	if c.DuplicateWindow <= 0 {
		c.DuplicateWindow = 10 * time.Minute
	}
	if c.MaxAge <= 0 {
		c.MaxAge = 7 * 24 * time.Hour
	}
	c.MaxAge = max(c.MaxAge, c.DuplicateWindow)
	if c.MaxBytes <= 0 {
		c.MaxBytes = 1 << 30
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}

// Validate reports a configuration the feed cannot work with.
func (c NATSConfig) Validate() error {
	if c.URL == "" {
		return errors.New("nats feed config: no URL")
	}
	if err := ValidateTopic(c.Topic); err != nil {
		return fmt.Errorf("nats feed config: %w", err)
	}
	if !streamNamePattern.MatchString(c.Stream) {
		return fmt.Errorf("nats feed config: stream %q: want letters, digits, _ or -", c.Stream)
	}
	return nil
}

// ValidateTopic refuses a topic that cannot be a NATS subject of the feed.
func ValidateTopic(topic string) error {
	if len(topic) > 200 || !subjectPattern.MatchString(topic) {
		return fmt.Errorf("topic %q: want dot-separated tokens of letters, digits, _ or - (at most 200 characters), such as %s",
			topic, DefaultTopic)
	}
	return nil
}

// NATSFeed is the analytics feed's JetStream stream and a watermill publisher
// on it.
//
// The stream captures the one subject Topic. Messages are published with
// watermill-nats' pkg/nats publisher in JetStream mode: each Publish sends its
// messages one by one and waits for the stream's ack of each, so the stream
// holds them in the order given. Watermill metadata become NATS headers one
// for one, so the Nats-Msg-Id that NewMessage sets makes the stream drop a
// copy of a message it stored within DuplicateWindow.
type NATSFeed struct {
	cfg       NATSConfig
	conn      *nats.Conn
	js        jetstream.JetStream
	publisher *wmnats.Publisher
}

// OpenNATS connects to the server and creates the feed's stream, or updates
// the settings of an existing one.
func OpenNATS(ctx context.Context, cfg NATSConfig) (*NATSFeed, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	conn, err := nats.Connect(cfg.URL, nats.Name("tellyou-feed"), nats.MaxReconnects(-1))
	if err != nil {
		return nil, fmt.Errorf("connect to NATS at %s: %w", cfg.URL, err)
	}
	f := &NATSFeed{cfg: cfg, conn: conn}
	if err := f.open(ctx); err != nil {
		conn.Close()
		return nil, err
	}
	return f, nil
}

func (f *NATSFeed) open(ctx context.Context) error {
	var err error
	if f.js, err = jetstream.New(f.conn); err != nil {
		return fmt.Errorf("open JetStream: %w", err)
	}
	_, err = f.js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name: f.cfg.Stream, Subjects: []string{f.cfg.Topic}, Storage: f.cfg.Storage,
		Retention: jetstream.LimitsPolicy, Discard: jetstream.DiscardOld,
		MaxAge: f.cfg.MaxAge, MaxBytes: f.cfg.MaxBytes, Duplicates: f.cfg.DuplicateWindow,
	})
	if err != nil {
		return fmt.Errorf("create stream %s for %s: %w", f.cfg.Stream, f.cfg.Topic, err)
	}
	logger := watermill.NewSlogLoggerWithLevelMapping(f.cfg.Logger, map[slog.Level]slog.Level{slog.LevelInfo: slog.LevelDebug})
	f.publisher, err = wmnats.NewPublisherWithNatsConn(f.conn, wmnats.PublisherPublishConfig{
		Marshaler: &wmnats.NATSMarshaler{}, SubjectCalculator: wmnats.DefaultSubjectCalculator,
		JetStream: wmnats.JetStreamConfig{TrackMsgId: true},
	}, logger)
	if err != nil {
		return fmt.Errorf("feed publisher: %w", err)
	}
	return nil
}

// Publisher is the watermill publisher of the feed. It publishes only on
// Topic; any other topic is refused.
func (f *NATSFeed) Publisher() message.Publisher {
	return topicPublisher{topic: f.cfg.Topic, next: f.publisher}
}

// Topic is the feed's topic and NATS subject.
func (f *NATSFeed) Topic() string { return f.cfg.Topic }

// Stream is the name of the feed's JetStream stream.
func (f *NATSFeed) Stream() string { return f.cfg.Stream }

// JetStream is the JetStream API on the feed's connection, for inspecting
// the stream.
func (f *NATSFeed) JetStream() jetstream.JetStream { return f.js }

// Close closes the connection.
func (f *NATSFeed) Close() error {
	f.conn.Close()
	return nil
}

// DeleteStream removes the stream and everything it holds from the server
// (for tests and operators retiring a feed).
func (f *NATSFeed) DeleteStream(ctx context.Context) error {
	if err := f.js.DeleteStream(ctx, f.cfg.Stream); err != nil && !errors.Is(err, jetstream.ErrStreamNotFound) {
		return fmt.Errorf("delete stream %s: %w", f.cfg.Stream, err)
	}
	return nil
}

// topicPublisher refuses topics other than the feed's, which no stream
// captures: a publish there would wait for an ack that never comes.
type topicPublisher struct {
	topic string
	next  message.Publisher
}

func (p topicPublisher) Publish(topic string, msgs ...*message.Message) error {
	if topic != p.topic {
		return fmt.Errorf("publish on %q: this feed publishes only on %q", topic, p.topic)
	}
	return p.next.Publish(topic, msgs...)
}

// Close does nothing: the NATSFeed owns the connection.
func (p topicPublisher) Close() error { return nil }
