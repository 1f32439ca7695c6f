package push

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	lru "github.com/hashicorp/golang-lru/v2"

	"github.com/tellyou/tellyou/handlers/metrics"
)

// Members resolves a session's current members. handlers.Queries implements it.
type Members interface {
	Members(ctx context.Context, sessionID string) ([]string, error)
}

// Options are the hub's tunables. Zero values take the defaults.
// DefaultMaxReceiptMembers is Options.MaxReceiptMembers' default.
const DefaultMaxReceiptMembers = 100

type Options struct {
	// EventsTopic carries the log's events (default DefaultEventsTopic).
	EventsTopic string
	// TypingTopic carries typing notices (default DefaultTypingTopic).
	TypingTopic string
	// RedeliveryTimeout is how long a pushed message may wait for the user's
	// received ack before it is pushed to the connection again (default 10 s).
	RedeliveryTimeout time.Duration
	// MaxRedeliveries is how many times one message is pushed again to one
	// connection (default 3); after that it waits in the user's inbox.
	MaxRedeliveries int
	// MaxTracked bounds the messages one connection awaits acks for (default
	// 1024); past it the oldest is no longer redelivered.
	MaxTracked int
	// MemberCacheSize is how many sessions' member lists the hub keeps
	// (default 10,000).
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
	// the first. Other events wait meanwhile: pushes keep log order.
	MaxRetries    int
	RetryInterval time.Duration
	// DeadLetterTopic is the topic dead letters are published on (default
	// DefaultDeadLetterTopic).
	DeadLetterTopic string
	// DeadLetters receives the events the hub gave up on, with the reason in
	// their metadata (see DefaultDeadLetterTopic). It is a dependency rather than a
	// tunable, carried here because Options is what the gateway passes to the
	// hub. Default: none; dead letters are then only logged and counted.
	DeadLetters message.Publisher
}

func (o *Options) setDefaults() {
	if o.EventsTopic == "" {
		o.EventsTopic = DefaultEventsTopic
	}
	if o.TypingTopic == "" {
		o.TypingTopic = DefaultTypingTopic
	}
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
	if o.DeadLetterTopic == "" {
		o.DeadLetterTopic = DefaultDeadLetterTopic
	}
}

// HubConfig configures a Hub.
type HubConfig struct {
	Options
	// Subscriber delivers the events and typing topics. Required.
	Subscriber message.Subscriber
	// Publisher carries typing notices. Required.
	Publisher message.Publisher
	// Members resolves the members of sessions the hub has not seen created.
	// Required.
	Members Members
	// Metrics receives PushLatency, Redeliveries and DeadLetters. Required.
	Metrics *metrics.Metrics
	// Logger receives failures (default slog.Default()).
	Logger *slog.Logger
	// Now is the clock PushLatency is measured against the events'
	// occurredAt (default time.Now). Redelivery uses the monotonic clock.
	Now func() time.Time
}

func (c *HubConfig) setDefaults() {
	c.Options.setDefaults()
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
}

// Validate reports missing dependencies.
func (c HubConfig) Validate() error {
	switch {
	case c.Subscriber == nil:
		return errors.New("push hub config: nil Subscriber")
	case c.Publisher == nil:
		return errors.New("push hub config: nil Publisher")
	case c.Members == nil:
		return errors.New("push hub config: nil Members")
	case c.Metrics == nil:
		return errors.New("push hub config: nil Metrics")
	}
	return nil
}

// Hub delivers events and typing notices to the connections of this node.
type Hub struct {
	cfg   HubConfig
	ready chan struct{}

	mu    sync.RWMutex
	users map[string]map[*Client]struct{}

	// members and versions are written by the events goroutine only.
	members  *lru.Cache[string, []string]
	versions *lru.Cache[string, int64]
}

// NewHub builds a Hub.
func NewHub(cfg HubConfig) (*Hub, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	members, err := lru.New[string, []string](cfg.MemberCacheSize)
	if err != nil {
		return nil, fmt.Errorf("push hub member cache: %w", err)
	}
	versions, err := lru.New[string, int64](cfg.MemberCacheSize)
	if err != nil {
		return nil, fmt.Errorf("push hub version cache: %w", err)
	}
	return &Hub{cfg: cfg, ready: make(chan struct{}), users: make(map[string]map[*Client]struct{}),
		members: members, versions: versions}, nil
}

// Ready is closed once Run has subscribed to both topics.
func (h *Hub) Ready() <-chan struct{} { return h.ready }

// Run consumes the events and typing topics and redelivers unacked messages
// until ctx ends; then it waits for its goroutines and returns nil. It returns
// an error when it cannot subscribe or a subscription ends before ctx. Run
// must not be called twice.
//
// The topics are consumed by a watermill Router. Events are handled one at a
// time, in the order the bus delivers them (its subscribers hand over a
// message only once the one before is acked), each acked after it is handled:
// frames of one session reach a connection in seq order. An event the hub
// cannot push is retried (Options.MaxRetries), then published to the
// dead-letter topic and acked, so that it holds up the other sessions only for
// its retries; a panic counts as a failure. Typing notices are never retried.
func (h *Hub) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	router, err := h.newRouter()
	if err != nil {
		return err
	}
	routerDone := make(chan error, 1)
	go func() { routerDone <- router.run(ctx) }()
	select {
	case <-router.Running():
	case err := <-routerDone:
		return err
	}
	close(h.ready)

	var wg sync.WaitGroup
	wg.Go(func() { h.sweep(ctx) })
	var ended error
	select {
	case <-ctx.Done():
	case <-router.events.Stopped():
		ended = fmt.Errorf("subscription to %s ended", h.cfg.EventsTopic)
	case <-router.typing.Stopped():
		ended = fmt.Errorf("subscription to %s ended", h.cfg.TypingTopic)
	}
	if ctx.Err() != nil {
		ended = nil // a subscription that ends with ctx is no failure
	}
	cancel()
	wg.Wait()
	if err := <-routerDone; err != nil && ended == nil {
		ended = err
	}
	return ended
}

// Register adds a connection of userID; pushes for the user's sessions go to
// out from now on. Call Unregister when the connection ends.
func (h *Hub) Register(userID string, out Outbox) *Client {
	c := &Client{hub: h, userID: userID, out: out, own: make(map[string]struct{})}
	h.mu.Lock()
	defer h.mu.Unlock()
	set := h.users[userID]
	if set == nil {
		set = make(map[*Client]struct{})
		h.users[userID] = set
	}
	set[c] = struct{}{}
	return c
}

func (h *Hub) unregister(c *Client) {
	h.mu.Lock()
	defer h.mu.Unlock()
	set := h.users[c.userID]
	delete(set, c)
	if len(set) == 0 {
		delete(h.users, c.userID)
	}
}

// Acked tells the hub that userID's received watermark in the session reached
// seq (the user's own ack frame, on this node): the messages up to it are not
// redelivered to any of the user's connections here. Other nodes learn it from
// the MessagesReceived event.
func (h *Hub) Acked(userID, sessionID string, seq int64) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	for c := range h.users[userID] {
		c.acked(sessionID, seq)
	}
}

// PublishTyping relays that userID is typing in the session to the other
// members' connections on every node. The caller checks membership first.
func (h *Hub) PublishTyping(userID, sessionID string) error {
	payload, err := json.Marshal(typingNotice{SessionID: sessionID, UserID: userID})
	if err != nil {
		return fmt.Errorf("encode typing notice: %w", err)
	}
	if err := h.cfg.Publisher.Publish(h.cfg.TypingTopic, message.NewMessage(watermill.NewUUID(), payload)); err != nil {
		return fmt.Errorf("publish typing notice on %s: %w", h.cfg.TypingTopic, err)
	}
	return nil
}

// sweep redelivers due messages until ctx ends, checking a few times per
// timeout.
func (h *Hub) sweep(ctx context.Context) {
	interval := min(max(h.cfg.RedeliveryTimeout/4, 10*time.Millisecond), time.Second)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			h.redeliver(now)
		}
	}
}

func (h *Hub) redeliver(now time.Time) {
	h.mu.RLock()
	clients := make([]*Client, 0, len(h.users))
	for _, set := range h.users {
		for c := range set {
			clients = append(clients, c)
		}
	}
	h.mu.RUnlock()
	for _, c := range clients {
		for _, frame := range c.due(now) {
			if !c.out.Enqueue(frame) {
				break
			}
			h.cfg.Metrics.Redeliveries.Inc()
		}
	}
}
