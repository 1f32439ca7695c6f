package presence

import (
	"errors"
	"log/slog"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
)

// Defaults of Config.
const (
	DefaultHeartbeat = 10 * time.Second
	DefaultExpiry    = 30 * time.Second
	DefaultDebounce  = 100 * time.Millisecond
	// DefaultMaxSessionMembers is delivery's DefaultMaxReceiptMembers: a
	// group larger than that pushes neither receipts nor presence.
	DefaultMaxSessionMembers = 100
	// DefaultTopic is the bus topic of presence without a NATS bus.
	DefaultTopic = "tellyou.presence"
)

// Bus carries presence between the nodes: it must deliver what is published
// after a subscription started to that subscription, and may lose messages
// (heartbeats carry a counter, and a node that missed a change asks again).
type Bus interface {
	message.Publisher
	message.Subscriber
}

// Config configures a Tracker.
type Config struct {
	// Store keeps last-seen times and finds who shares a session. Required.
	Store *Store
	// Bus connects the nodes; nil for a single node.
	Bus Bus
	// Topic is the bus topic (default DefaultTopic).
	Topic string
	// Heartbeat is how often the node tells the others it is alive (default
	// DefaultHeartbeat); Expiry how long a node may stay silent before the
	// others take its users offline (default DefaultExpiry, at least twice
	// Heartbeat).
	Heartbeat time.Duration
	Expiry    time.Duration
	// Debounce is how long changes are gathered before they are published
	// and pushed (default DefaultDebounce).
	Debounce time.Duration
	// MaxSessionMembers is the largest session whose members get presence
	// pushes about each other (default DefaultMaxSessionMembers): a big
	// group whose members come and go would push n frames per change. Its
	// members still ask with GET /v1/presence or the members route.
	MaxSessionMembers int
	// Logger receives failures (default slog.Default()).
	Logger *slog.Logger
	// Now is the clock of lastSeenAt and of expiry (default time.Now).
	Now func() time.Time
}

func (c *Config) setDefaults() {
	if c.Topic == "" {
		c.Topic = DefaultTopic
	}
	if c.Heartbeat <= 0 {
		c.Heartbeat = DefaultHeartbeat
	}
	if c.Expiry <= 0 {
		c.Expiry = DefaultExpiry
	}
	c.Expiry = max(c.Expiry, 2*c.Heartbeat)
	if c.Debounce <= 0 {
		c.Debounce = DefaultDebounce
	}
	if c.MaxSessionMembers <= 0 {
		c.MaxSessionMembers = DefaultMaxSessionMembers
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
}

// Validate reports missing dependencies.
func (c Config) Validate() error {
	if c.Store == nil {
		return errors.New("presence config: nil Store")
	}
	return nil
}
