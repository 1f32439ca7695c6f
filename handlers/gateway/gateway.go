// Package gateway assembles one node's client transport: the WebSocket
// endpoint (handlers/ws), the push path from the event log to the connections
// (handlers/push) and, beside them, the HTTP API the caller provides.
package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/pubsub/gochannel"

	"github.com/tellyou/tellyou/events"
	"github.com/tellyou/tellyou/handlers"
	"github.com/tellyou/tellyou/handlers/auth"
	"github.com/tellyou/tellyou/handlers/metrics"
	"github.com/tellyou/tellyou/handlers/push"
	"github.com/tellyou/tellyou/handlers/wire"
	"github.com/tellyou/tellyou/handlers/ws"
)

// WSPath is the WebSocket endpoint.
const WSPath = "/v1/ws"

// PubSub is the bus between the log follower and the hubs of every node.
// It must deliver at least once; the hub acks each message after handling it
// and tolerates duplicates.
type PubSub interface {
	message.Publisher
	message.Subscriber
}

var (
	_ PubSub       = (*gochannel.GoChannel)(nil)
	_ push.Members = (*handlers.Queries)(nil)
)

// Config holds a gateway's dependencies and settings.
type Config struct {
	Commands *handlers.Commands
	Queries  *handlers.Queries
	// Store is the event log pushes are read from.
	Store events.Store
	// Secret checks tokens (at least auth.MinSecretBytes).
	Secret  []byte
	Metrics *metrics.Metrics
	// Logger defaults to slog.Default().
	Logger *slog.Logger
	// Now is the clock tokens are checked and push latency measured against
	// (default time.Now).
	Now func() time.Time
	// PubSub carries events and typing notices. The default is an in-process
	// GoChannel, which the gateway closes when Run returns: it makes the
	// follower wait for the hub to ack each message (so pushes keep log
	// order, and a slow hub holds up only the follower, never an append) and
	// keeps nothing (a hub that starts late syncs nothing from it).
	PubSub PubSub
	// WS bounds the WebSocket connections.
	WS ws.Limits
	// Push tunes the hub: topics, redelivery, member cache.
	Push push.Options
	// API serves every path but WSPath (the HTTP API, health and metrics).
	// Nil answers those paths with a JSON 404.
	API http.Handler
}

func (c *Config) setDefaults() {
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
	case c.Commands == nil:
		return errors.New("gateway config: nil Commands")
	case c.Queries == nil:
		return errors.New("gateway config: nil Queries")
	case c.Store == nil:
		return errors.New("gateway config: nil Store")
	case c.Metrics == nil:
		return errors.New("gateway config: nil Metrics")
	case len(c.Secret) < auth.MinSecretBytes:
		return errors.New("gateway config: Secret shorter than auth.MinSecretBytes")
	}
	return nil
}

// Gateway is one node's transport.
type Gateway struct {
	cfg       Config
	ownPubSub bool
	hub       *push.Hub
	follower  *push.Follower
	ws        *ws.Handler
	ready     chan struct{}
	running   atomic.Bool
}

// New builds a gateway; it starts nothing (see Run).
func New(cfg Config) (*Gateway, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	g := &Gateway{ready: make(chan struct{})}
	if cfg.PubSub == nil {
		cfg.PubSub = gochannel.NewGoChannel(gochannel.Config{BlockPublishUntilSubscriberAck: true},
			watermill.NewSlogLoggerWithLevelMapping(cfg.Logger, map[slog.Level]slog.Level{slog.LevelInfo: slog.LevelDebug}))
		g.ownPubSub = true
	}
	g.cfg = cfg
	var err error
	g.hub, err = push.NewHub(push.HubConfig{Options: cfg.Push, Subscriber: cfg.PubSub, Publisher: cfg.PubSub,
		Members: cfg.Queries, Metrics: cfg.Metrics, Logger: cfg.Logger, Now: cfg.Now})
	if err != nil {
		return nil, err
	}
	g.follower, err = push.NewFollower(push.FollowerConfig{Store: cfg.Store, Publisher: cfg.PubSub,
		Topic: cfg.Push.EventsTopic, Logger: cfg.Logger})
	if err != nil {
		return nil, err
	}
	g.ws, err = ws.New(ws.Config{Commands: cfg.Commands, Queries: cfg.Queries, Hub: g.hub, Secret: cfg.Secret,
		Metrics: cfg.Metrics, Logger: cfg.Logger, Now: cfg.Now, Limits: cfg.WS})
	if err != nil {
		return nil, err
	}
	return g, nil
}

// Run runs the hub and the log follower until ctx ends, then waits for them
// and returns nil; it returns an error when the hub cannot subscribe to the
// bus or its subscription ends. Events appended once Ready is closed are
// pushed. Run must not be called twice.
func (g *Gateway) Run(ctx context.Context) error {
	if !g.running.CompareAndSwap(false, true) {
		return errors.New("gateway already running")
	}
	if g.ownPubSub {
		defer g.cfg.PubSub.Close()
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	defer wg.Wait()

	hubErr := make(chan error, 1)
	wg.Go(func() {
		hubErr <- g.hub.Run(ctx)
		cancel()
	})
	// The follower publishes only once the hub listens: the default bus drops
	// messages nobody is subscribed to.
	select {
	case <-g.hub.Ready():
	case err := <-hubErr:
		return err
	}
	wg.Go(func() { _ = g.follower.Run(ctx) })
	select {
	case <-g.follower.Ready():
		close(g.ready)
	case <-ctx.Done():
	}
	<-ctx.Done()
	wg.Wait()
	select {
	case err := <-hubErr:
		return err
	default:
		return nil
	}
}

// Ready is closed once Run has started pushing: the hub listens and the
// follower has taken the log position it publishes from.
func (g *Gateway) Ready() <-chan struct{} { return g.ready }

// Handler routes WSPath to the WebSocket endpoint and every other path to
// Config.API (a JSON 404 when it is nil).
func (g *Gateway) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == WSPath:
			g.ws.ServeHTTP(w, r)
		case g.cfg.API != nil:
			g.cfg.API.ServeHTTP(w, r)
		default:
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusNotFound)
			_ = json.NewEncoder(w).Encode(wire.Error{Code: wire.CodeNotFound, Message: "no such endpoint"})
		}
	})
}

// Shutdown closes the WebSocket connections gracefully (see ws.Handler's
// Shutdown): call it before shutting the HTTP server down, whose Shutdown does
// not wait for upgraded connections, and before ending Run's context, so that
// the last answers still go out.
func (g *Gateway) Shutdown(ctx context.Context) error {
	return g.ws.Shutdown(ctx)
}
