package main

import (
	"context"
	"log/slog"
	"net/url"
	"sync"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tellyou/tellyou/handlers/metrics"
	"github.com/tellyou/tellyou/handlers/notify"
)

// notifyDeps are what offline notifications need of the node.
type notifyDeps struct {
	Pool     *pgxpool.Pool
	Log      notify.Log
	Sessions notify.Sessions
	Presence notify.Presence
	Metrics  *metrics.Metrics
	Logger   *slog.Logger
}

// newNotify builds offline notifications when cfg.NotifyURL is set, and
// returns what runs them (nil when they are off): every node runs a sender
// on the shared outbox (each row is claimed by one), and the node holding
// the trigger's lease turns messages for offline members into
// notifications. Both stop when ctx ends; wg waits for them.
func newNotify(cfg config, d notifyDeps) (func(ctx context.Context, wg *sync.WaitGroup), error) {
	if cfg.NotifyURL == "" {
		return nil, nil
	}
	outbox := notify.NewOutbox(d.Pool)
	sender, err := notify.NewSender(notify.Config{Outbox: outbox, URL: cfg.NotifyURL, Secret: cfg.NotifySecret,
		Timeout: cfg.NotifyTimeout, MaxAttempts: cfg.NotifyMaxAttempts, Logger: d.Logger})
	if err != nil {
		return nil, err
	}
	for _, outcome := range []string{notify.OutcomeEnqueued, notify.OutcomeMuted, notify.OutcomeOnline, notify.OutcomeStale} {
		d.Metrics.Notifications.WithLabelValues(outcome) // shown at 0 from the start
	}
	trigger, err := notify.NewTrigger(notify.TriggerConfig{Log: d.Log, Pool: d.Pool, Sessions: d.Sessions,
		Presence: d.Presence, Logger: d.Logger, Enqueued: sender.Wake,
		Counted: func(outcome string, n int) { d.Metrics.Notifications.WithLabelValues(outcome).Add(float64(n)) }})
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context, wg *sync.WaitGroup) {
		wg.Go(func() { _ = sender.Run(ctx) })  // failures are logged and retried inside
		wg.Go(func() { _ = trigger.Run(ctx) }) // likewise
		// The URL's path and query may hold a credential of the gateway's.
		target := "the configured URL"
		if u, err := url.Parse(cfg.NotifyURL); err == nil {
			target = u.Scheme + "://" + u.Host
		}
		d.Logger.Info("offline notifications on", "gateway", target)
	}, nil
}
