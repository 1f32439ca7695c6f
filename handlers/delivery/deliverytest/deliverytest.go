// Package deliverytest runs a node's delivery for tests: a tail of the event
// log, a hub and its follower, started together and stopped when the test
// ends.
package deliverytest

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/tellyou/tellyou/events"
	"github.com/tellyou/tellyou/events/tail"
	"github.com/tellyou/tellyou/handlers/delivery"
	"github.com/tellyou/tellyou/handlers/metrics"
)

// Config is what Run needs; Logger defaults to discarding.
type Config struct {
	Store   events.Store
	Members delivery.Members
	Metrics *metrics.Metrics
	Options delivery.Options
	Bus     delivery.Bus
	Logger  *slog.Logger
	// Opener opens sealed content in the log and on the bus (nil: pushed
	// as stored).
	Opener delivery.Opener
}

// Run starts delivery over cfg.Store and returns its hub once the hub and
// the follower are ready. Hand the hub's Committed to the command handlers
// for the fast path.
func Run(tb testing.TB, cfg Config) *delivery.Hub {
	tb.Helper()
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Metrics == nil {
		cfg.Metrics = metrics.New()
	}
	tl, err := tail.New(tail.Config{Log: cfg.Store, Logger: cfg.Logger, Opener: cfg.Opener})
	if err != nil {
		tb.Fatal(err)
	}
	hub, err := delivery.New(delivery.Config{Options: cfg.Options, Members: cfg.Members, Metrics: cfg.Metrics,
		Bus: cfg.Bus, Logger: cfg.Logger, Opener: cfg.Opener})
	if err != nil {
		tb.Fatal(err)
	}
	follower, err := delivery.NewFollower(delivery.FollowerConfig{Log: tl, Hub: hub, Logger: cfg.Logger})
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { _ = tl.Run(ctx) })
	wg.Go(func() {
		if err := hub.Run(ctx); err != nil {
			tb.Errorf("delivery hub: %v", err)
		}
	})
	wg.Go(func() { _ = follower.Run(ctx) })
	tb.Cleanup(func() {
		cancel()
		wg.Wait()
	})
	for _, ready := range []<-chan struct{}{hub.Ready(), follower.Ready()} {
		select {
		case <-ready:
		case <-time.After(time.Minute):
			tb.Fatal("delivery did not start")
		}
	}
	return hub
}
