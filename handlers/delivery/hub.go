package delivery

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/google/uuid"

	"github.com/tellyou/tellyou/handlers/metrics"
)

// Members resolves a session's current members. query.Queries implements it.
type Members interface {
	Members(ctx context.Context, sessionID string) ([]string, error)
}

// DefaultMaxReceiptMembers is Options.MaxReceiptMembers' default.
const DefaultMaxReceiptMembers = 100

// Options are the hub's tunables. Zero values take the defaults.
type Options struct {
	// RedeliveryTimeout is how long a pushed message may wait for the user's
	// received ack before it is pushed to the connection again (default
	// 10 s), counted from when the connection had nothing queued.
	RedeliveryTimeout time.Duration
	// MaxRedeliveries is how many times one message is pushed again to one
	// connection (default 3); after that it waits in the user's inbox.
	MaxRedeliveries int
	// MaxTracked bounds the messages one connection awaits acks for (default
	// 1024); past it the oldest is no longer redelivered.
	MaxTracked int
	// MemberCacheSize is how many sessions' member lists the hub keeps
	// (default 10,000), shared out over the shards.
	MemberCacheSize int
	// MaxReceiptMembers is the largest session whose receipts are pushed
	// (default DefaultMaxReceiptMembers). Every member's ack in a session of
	// n members would otherwise push n-1 receipts: n² frames when everyone
	// reads. In larger groups members see read state by pulling it.
	MaxReceiptMembers int
	// MaxRetries is how many times the hub tries an event again when it
	// cannot push it (its session's members cannot be resolved, say) before
	// it gives up on it and dead-letters it (default 3). RetryInterval is the
	// first pause (default 50 ms); each further one doubles, up to eight times
	// the first. The event's shard waits meanwhile: pushes keep their order.
	MaxRetries    int
	RetryInterval time.Duration
	// Shards is how many goroutines deliver events (default 4); a session's
	// events always go through the same one, in order.
	Shards int
	// InboxSize bounds the runs of events waiting for one shard (default
	// 4096). A fast-path or bus run that finds the inbox full is dropped:
	// the follower of the log delivers it a moment later.
	InboxSize int
	// HoldTimeout is how long a run of events waits for the events before it
	// (default 3 s) before it is delivered without them; see the sequencer.
	HoldTimeout time.Duration
	// ForgetAfter is how long a session's order is kept once nothing comes
	// for it and the follower has passed it (default 1 min).
	ForgetAfter time.Duration
	// EventsTopic and TypingTopic are the bus topics of events and typing
	// notices (defaults DefaultEventsTopic and DefaultTypingTopic).
	EventsTopic string
	TypingTopic string
	// BusQueue bounds the appends waiting to be published on the bus
	// (default 8192); past it an append is not published (other nodes'
	// followers deliver it).
	BusQueue int
}

// Default bus topics.
const (
	DefaultEventsTopic = "tellyou.events"
	DefaultTypingTopic = "tellyou.typing"
)

func (o *Options) setDefaults() {
	if o.RedeliveryTimeout <= 0 {
		o.RedeliveryTimeout = 10 * time.Second
	}
	if o.MaxRedeliveries <= 0 {
		o.MaxRedeliveries = 3
	}
	if o.MaxTracked <= 0 {
		o.MaxTracked = 1024
	}
	if o.MemberCacheSize <= 0 {
		o.MemberCacheSize = 10000
	}
	if o.MaxReceiptMembers <= 0 {
		o.MaxReceiptMembers = DefaultMaxReceiptMembers
	}
	if o.MaxRetries <= 0 {
		o.MaxRetries = 3
	}
	if o.RetryInterval <= 0 {
		o.RetryInterval = 50 * time.Millisecond
	}
	if o.Shards <= 0 {
		o.Shards = 4
	}
	if o.InboxSize <= 0 {
		o.InboxSize = 4096
	}
	if o.HoldTimeout <= 0 {
		o.HoldTimeout = 3 * time.Second
	}
	if o.ForgetAfter <= 0 {
		o.ForgetAfter = time.Minute
	}
	if o.EventsTopic == "" {
		o.EventsTopic = DefaultEventsTopic
	}
	if o.TypingTopic == "" {
		o.TypingTopic = DefaultTypingTopic
	}
	if o.BusQueue <= 0 {
		o.BusQueue = 8192
	}
}

// Bus carries fast-path events and typing notices between the nodes of a
// deployment. It must deliver every message published after a subscription
// started to that subscription, at most once normally (a repeated event is
// dropped by the sequencer anyway), and may lose messages while it is down:
// every node's follower of the log delivers what the bus did not.
type Bus interface {
	message.Publisher
	message.Subscriber
}

// Config configures a Hub.
type Config struct {
	Options
	// Members resolves the members of sessions the hub has not seen created.
	// Required.
	Members Members
	// Metrics receives push latency, redeliveries, dead letters and the
	// delivery counters. Required.
	Metrics *metrics.Metrics
	// Bus connects the nodes of a deployment; nil for a single node.
	Bus Bus
	// DeadLetters receives the events the hub gave up on (see
	// DefaultDeadLetterTopic); nil: they are only logged and counted.
	DeadLetters message.Publisher
	// Connections is told when a user's first connection on this node
	// registers and when their last one unregisters (presence); nil: no one.
	Connections ConnectionObserver
	// Logger receives failures (default slog.Default()).
	Logger *slog.Logger
	// Now is the clock push latency is measured against the events'
	// occurredAt (default time.Now). Redelivery uses the monotonic clock.
	Now func() time.Time
	// Opener opens the sealed content of events other nodes publish on the
	// Bus (they travel as stored); nil leaves it sealed. The fast path
	// carries content in clear and the follower reads a tail that opens it.
	Opener Opener
}

func (c *Config) setDefaults() {
	c.Options.setDefaults()
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
}

// Validate reports missing dependencies.
func (c Config) Validate() error {
	switch {
	case c.Members == nil:
		return errors.New("delivery hub config: nil Members")
	case c.Metrics == nil:
		return errors.New("delivery hub config: nil Metrics")
	}
	return nil
}

// Hub delivers committed events and typing notices to the connections of
// this node; see the package doc for the ways events reach it.
type Hub struct {
	cfg Config
	// node names this node on the bus, so that it skips its own messages.
	node   string
	seed   maphash.Seed
	shards []*shard
	// published queues fast-path appends for the bus publisher.
	published chan appendOf

	running atomic.Bool
	ready   chan struct{}

	mu    sync.RWMutex
	users map[string]map[*Client]struct{}
}

// New builds a Hub; Run starts it.
func New(cfg Config) (*Hub, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	h := &Hub{cfg: cfg, node: uuid.NewString(), seed: maphash.MakeSeed(), ready: make(chan struct{}),
		users: make(map[string]map[*Client]struct{})}
	for range cfg.Shards {
		sh, err := newShard(h)
		if err != nil {
			return nil, err
		}
		h.shards = append(h.shards, sh)
	}
	if cfg.Bus != nil {
		h.published = make(chan appendOf, cfg.BusQueue)
	}
	return h, nil
}

// Ready is closed once Run has started its shards and, with a bus, has
// subscribed to it.
func (h *Hub) Ready() <-chan struct{} { return h.ready }

// Run delivers until ctx ends, then waits for its goroutines and returns
// nil; it returns an error when it cannot subscribe to the bus or a bus
// subscription ends before ctx. Run must not be called twice.
func (h *Hub) Run(ctx context.Context) error {
	if !h.running.CompareAndSwap(false, true) {
		return errors.New("delivery hub already running")
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	defer wg.Wait()
	for _, sh := range h.shards {
		wg.Go(func() { sh.run(ctx) })
	}
	wg.Go(func() { h.sweep(ctx) })
	ended := make(chan error, 2)
	if h.cfg.Bus != nil {
		events, err := h.cfg.Bus.Subscribe(ctx, h.cfg.EventsTopic)
		if err != nil {
			return fmt.Errorf("subscribe to %s: %w", h.cfg.EventsTopic, err)
		}
		typing, err := h.cfg.Bus.Subscribe(ctx, h.cfg.TypingTopic)
		if err != nil {
			return fmt.Errorf("subscribe to %s: %w", h.cfg.TypingTopic, err)
		}
		wg.Go(func() { ended <- h.receiveEvents(ctx, events) })
		wg.Go(func() { ended <- h.receiveTyping(ctx, typing) })
		wg.Go(func() { h.publish(ctx) })
	}
	close(h.ready)
	select {
	case <-ctx.Done():
		return nil
	case err := <-ended:
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
}

func (h *Hub) shardOf(streamID string) *shard { return h.shards[h.shardIndex(streamID)] }

func (h *Hub) shardIndex(streamID string) int {
	return int(maphash.String(h.seed, streamID) % uint64(len(h.shards)))
}
