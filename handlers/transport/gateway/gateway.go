// Package gateway assembles one node's client transport: the WebSocket
// endpoint (handlers/ws), the delivery of committed events to the
// connections (handlers/delivery) and, beside them, the HTTP API the caller
// provides.
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

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/tellyou/tellyou/events"
	"github.com/tellyou/tellyou/events/tail"
	"github.com/tellyou/tellyou/handlers/command"
	"github.com/tellyou/tellyou/handlers/delivery"
	"github.com/tellyou/tellyou/handlers/metrics"
	"github.com/tellyou/tellyou/handlers/presence"
	"github.com/tellyou/tellyou/handlers/query"
	"github.com/tellyou/tellyou/handlers/transport/auth"
	"github.com/tellyou/tellyou/handlers/transport/wire"
	"github.com/tellyou/tellyou/handlers/transport/ws"
)

// WSPath is the WebSocket endpoint.
const WSPath = "/v1/ws"

var _ delivery.Members = (*query.Queries)(nil)

// Config holds a gateway's dependencies and settings.
type Config struct {
	Commands *command.Commands
	Queries  *query.Queries
	// Log is the process's tail of the event log, which the delivery
	// follower reads; the caller runs it. When nil, the gateway makes a tail
	// of Store and runs it itself.
	Log   *tail.Tail
	Store events.Store
	// Secret checks tokens (at least auth.MinSecretBytes).
	Secret  []byte
	Metrics *metrics.Metrics
	// Logger defaults to slog.Default().
	Logger *slog.Logger
	// Now is the clock tokens are checked and push latency measured against
	// (default time.Now).
	Now func() time.Time
	// Bus carries fast-path events and typing notices between the nodes of a
	// deployment; nil for a single node.
	Bus delivery.Bus
	// DeadLetters receives the events delivery gave up on (optional).
	DeadLetters message.Publisher
	// WS bounds the WebSocket connections.
	WS ws.Limits
	// Push tunes delivery: redelivery, member cache, shards, topics.
	Push delivery.Options
	// Presence, when set, learns who connects and disconnects here and
	// pushes presence through the hub; the gateway runs it.
	Presence *presence.Tracker
	// API serves every path but WSPath (the HTTP API, health and metrics).
	// Nil answers those paths with a JSON 404.
	API http.Handler
	// Opener opens sealed content (events/sealing.Sealer) in events other
	// nodes publish on the Bus and, when the gateway makes its own tail, in
	// the log it follows. A Log given by the caller opens content itself
	// (tail.Config.Opener). Nil pushes content as stored.
	Opener delivery.Opener
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
	case c.Log == nil && c.Store == nil:
		return errors.New("gateway config: nil Log and Store")
	case c.Metrics == nil:
		return errors.New("gateway config: nil Metrics")
	case len(c.Secret) < auth.MinSecretBytes:
		return errors.New("gateway config: Secret shorter than auth.MinSecretBytes")
	}
	return nil
}

// Gateway is one node's transport.
type Gateway struct {
	cfg      Config
	ownTail  bool
	hub      *delivery.Hub
	follower *delivery.Follower
	ws       *ws.Handler
	ready    chan struct{}
	running  atomic.Bool
}

// New builds a gateway; it starts nothing (see Run).
func New(cfg Config) (*Gateway, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	g := &Gateway{ready: make(chan struct{})}
	if cfg.Log == nil {
		var err error
		if cfg.Log, err = tail.New(tail.Config{Log: cfg.Store, Logger: cfg.Logger, Opener: cfg.Opener}); err != nil {
			return nil, err
		}
		g.ownTail = true
	}
	g.cfg = cfg
	var err error
	hubCfg := delivery.Config{Options: cfg.Push, Members: cfg.Queries, Metrics: cfg.Metrics,
		Bus: cfg.Bus, DeadLetters: cfg.DeadLetters, Logger: cfg.Logger, Now: cfg.Now, Opener: cfg.Opener}
	if cfg.Presence != nil {
		hubCfg.Connections = cfg.Presence
	}
	g.hub, err = delivery.New(hubCfg)
	if err != nil {
		return nil, err
	}
	g.follower, err = delivery.NewFollower(delivery.FollowerConfig{Log: cfg.Log, Hub: g.hub, Logger: cfg.Logger})
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

// Committed is the fast path of delivery: hand it every append right after
// it commits (command.Config.Committed). It never blocks.
func (g *Gateway) Committed(c events.Committed) { g.hub.Committed(c) }

// Run runs delivery (the hub and its follower, the tail when the gateway
// made it, and presence when configured) until ctx ends, then waits for it and returns nil; it returns an
// error when the hub or presence cannot subscribe to the bus or the hub's
// subscription ends.
// Events appended once Ready is closed are pushed. Run must not be called
// twice.
func (g *Gateway) Run(ctx context.Context) error {
	if !g.running.CompareAndSwap(false, true) {
		return errors.New("gateway already running")
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	defer wg.Wait()

	if g.ownTail {
		wg.Go(func() { _ = g.cfg.Log.Run(ctx) })
	}
	hubErr := make(chan error, 1)
	wg.Go(func() {
		hubErr <- g.hub.Run(ctx)
		cancel()
	})
	select {
	case <-g.hub.Ready():
	case err := <-hubErr:
		return err
	}
	if g.cfg.Presence != nil {
		presenceErr := make(chan error, 1)
		wg.Go(func() {
			if err := g.cfg.Presence.Run(ctx, g.hub); err != nil {
				presenceErr <- err
				cancel()
			}
		})
		select {
		case <-g.cfg.Presence.Ready():
		case err := <-presenceErr:
			return err
		}
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

// Ready is closed once Run has started delivering: the hub runs and the
// follower has taken the log position it delivers from.
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
