package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/tellyou/tellyou/domain"
	"github.com/tellyou/tellyou/events"
	"github.com/tellyou/tellyou/events/tail"
	"github.com/tellyou/tellyou/handlers/command"
	"github.com/tellyou/tellyou/handlers/delivery"
	"github.com/tellyou/tellyou/handlers/feedbus"
	"github.com/tellyou/tellyou/handlers/metrics"
	"github.com/tellyou/tellyou/handlers/presence"
	"github.com/tellyou/tellyou/handlers/query"
	"github.com/tellyou/tellyou/handlers/transport/gateway"
	"github.com/tellyou/tellyou/handlers/transport/httpapi"
	"github.com/tellyou/tellyou/handlers/transport/webclient"
	"github.com/tellyou/tellyou/handlers/transport/ws"
	"github.com/tellyou/tellyou/projections"
	"github.com/tellyou/tellyou/readmodels"
)

// shutdownGrace bounds how long serve waits for in-flight work at shutdown.
const shutdownGrace = 15 * time.Second

func serveCmd(ctx context.Context, cfg config, logger *slog.Logger, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&cfg.Addr, "addr", cfg.Addr, "listen address (TELLYOU_ADDR)")
	fs.StringVar(&cfg.DebugAddr, "debug-addr", cfg.DebugAddr, "serve net/http/pprof on this separate address, e.g. 127.0.0.1:6060; empty: off (TELLYOU_DEBUG_ADDR)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := checkDebugAddr(cfg.DebugAddr); err != nil {
		return fmt.Errorf("--debug-addr %q: %w", cfg.DebugAddr, err)
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Addr, err)
	}
	defer ln.Close()
	return serve(ctx, cfg, logger, ln)
}

// serve runs one node on ln until ctx ends, then shuts down gracefully: it stops
// accepting connections, lets in-flight frames and requests finish (an
// in-flight send is either acked and durable or answered with an error), closes
// WebSockets with 1001 going away, and stops the projections. With
// cfg.DebugAddr set it also serves pprof there (see newDebugServer), from
// when the node serves until it stops.
func serve(ctx context.Context, cfg config, logger *slog.Logger, ln net.Listener) error {
	var debugLn net.Listener
	if cfg.DebugAddr != "" {
		var err error
		// Taken first, so that a busy debug port fails serve before any work.
		if debugLn, err = net.Listen("tcp", cfg.DebugAddr); err != nil {
			return fmt.Errorf("listen for pprof on %s: %w", cfg.DebugAddr, err)
		}
		defer debugLn.Close()
	}
	eng, err := openEngine(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer eng.Close()
	secret, err := signingSecretFrom(ctx, cfg, eng)
	if err != nil {
		return err
	}
	policy := domain.DefaultPolicy()
	policy.MaxClockSkew, policy.RecallWindow, policy.EditWindow = cfg.MaxClockSkew, cfg.RecallWindow, cfg.EditWindow
	policy.MaxGroupMembers = cfg.MaxGroupMembers
	rm := readmodels.New(eng.Pool)
	m := metrics.New()
	// Commands and queries reach the log through a decorator that times
	// appends and reads; the tail (the one reader of the global log, which
	// feeds the projections, delivery and the feeds) and readiness use the
	// store directly.
	store, err := metrics.NewInstrumentedStore(eng.Store, m)
	if err != nil {
		return err
	}
	keys, sealer, err := openSealer(ctx, cfg, eng, logger)
	if err != nil {
		return err
	}
	logTail, err := tail.New(tail.Config{Log: eng.Store, Logger: logger, Opener: sealer})
	if err != nil {
		return err
	}
	// The fast path: each append goes to delivery right after it commits.
	// The gateway that delivers is built after the commands it serves.
	var gw *gateway.Gateway
	fastPath := func(c events.Committed) { gw.Committed(c) }
	if !cfg.FastPath {
		fastPath = nil
	} else {
		fastPath = withKillAfterCommit(cfg.FaultKillAfterCommit, fastPath)
	}
	cmds, err := command.NewCommands(command.Config{Store: store, History: rm, Policy: policy, Committed: fastPath,
		Admission: command.AdmissionConfig{MaxInFlight: cfg.MaxInFlight,
			TargetLatency: cfg.TargetLatency, MaxQueueDelay: cfg.MaxQueueDelay}, Sealer: sealer})
	if err != nil {
		return err
	}
	queries, err := query.NewQueries(cmds, rm, store)
	if err != nil {
		return err
	}
	sweeper, err := newRetentionSweeper(cfg, cmds, rm, keys, eng.Pool, logger)
	if err != nil {
		return err
	}
	runner, err := projections.NewRunner(projections.RunnerConfig{Store: eng.Store, Log: logTail, Pool: eng.Pool, Logger: logger,
		// A projection that a database outage stopped resumes within seconds
		// of the database's return, however long it was gone.
		MaxRetryBackoff: 5 * time.Second,
		// One node at a time runs each projection; another takes over
		// within about a second of its death.
		Leases:    true,
		OnFailure: func(name string, _ error) { m.ProjectionFailures.WithLabelValues(name).Inc() }})
	if err != nil {
		return err
	}
	for _, st := range runner.Status() {
		m.ProjectionFailures.WithLabelValues(st.Name) // shown at 0 before the first failure
	}
	m.RegisterProjections(projectionSource(eng.Store, runner))
	deadLetters, err := newDeadLetterPublisher(eng.Pool, logger)
	if err != nil {
		return err
	}
	defer deadLetters.Close()
	natsBus, pushOpts, err := openBus(ctx, cfg, logger)
	if err != nil {
		return err
	}
	var bus delivery.Bus // a nil interface without NATS, never a nil *NATSBus
	var busHealth busConn
	presenceCfg := presence.Config{Store: presence.NewStore(eng.Pool), Logger: logger,
		Heartbeat: cfg.PresenceExpiry / 3, Expiry: cfg.PresenceExpiry, MaxSessionMembers: delivery.DefaultMaxReceiptMembers}
	if natsBus != nil {
		defer natsBus.Close()
		bus, busHealth = natsBus, natsBus.Conn()
		presenceCfg.Bus, presenceCfg.Topic = natsBus, natsBus.PresenceTopic()
	}
	// Who is online: ephemeral, kept by each node and shared over the bus;
	// the gateway runs it.
	tracker, err := presence.New(presenceCfg)
	if err != nil {
		return err
	}
	feed, feedRelay, err := openFeed(ctx, cfg, eng, logTail, logger)
	if err != nil {
		return err
	}
	if feed != nil {
		defer feed.Close()
	}
	pushOpts.RedeliveryTimeout, pushOpts.MaxRedeliveries = cfg.RedeliveryTimeout, cfg.MaxRedeliveries
	ready, err := newReadiness(readinessConfig{Store: eng.Store, Bus: busHealth, Runner: runner, MaxLag: 10 * time.Second})
	if err != nil {
		return err
	}
	// Every request and frame that reaches the database carries a deadline
	// of cfg.RequestTimeout, except the feed, which streams for as long as
	// its client reads.
	eraser, err := newEraser(store, keys)
	if err != nil {
		return err
	}
	api, err := httpapi.New(httpapi.Config{
		Commands: cmds, Queries: queries, Store: logTail, Secret: secret, Metrics: m, Ready: ready.Check, Logger: logger,
		RequestTimeout: cfg.RequestTimeout, Presence: tracker, Opener: sealer, Erase: eraser,
	})
	if err != nil {
		return err
	}
	// The web client answers / and its files (and dev login when it is on)
	// in front of the API, which keeps every other path and its JSON 404/405.
	web, err := webclient.New(webclient.Config{
		API: api, DevLogin: cfg.DevLogin, Secret: secret, RecallWindow: cfg.RecallWindow, EditWindow: cfg.EditWindow, Logger: logger,
	})
	if err != nil {
		return err
	}
	if cfg.DevLogin {
		logger.Warn("dev login is on: POST " + webclient.DevTokenPath + " signs a token for any user name; never expose this server")
	}
	gw, err = gateway.New(gateway.Config{
		Commands: cmds, Queries: queries, Log: logTail, Secret: secret, Metrics: m, Logger: logger, API: web,
		WS: ws.Limits{
			MaxFrameBytes: cfg.MaxFrameBytes, MaxQueueBytes: cfg.SendQueueBytes, StallTimeout: cfg.StallTimeout,
			SendRate: cfg.SendRate, SendBurst: cfg.SendBurst, HandleTimeout: cfg.RequestTimeout,
			MaxConnsPerUser: cfg.MaxConnsPerUser, FrameRate: cfg.FrameRate, FrameBurst: cfg.FrameBurst,
			DisableCompression: !cfg.WSCompression,
		},
		Push: pushOpts, Bus: bus, DeadLetters: deadLetters, Presence: tracker, Opener: sealer,
	})
	if err != nil {
		return err
	}

	runNotify, err := newNotify(cfg, notifyDeps{Pool: eng.Pool, Log: logTail, Sessions: cmds.Sessions,
		Presence: tracker, Metrics: m, Logger: logger})
	if err != nil {
		return err
	}

	srv := &http.Server{Handler: gw.Handler(), ReadHeaderTimeout: 10 * time.Second}
	srv.RegisterOnShutdown(api.CloseFeeds)

	runCtx, stopRunning := context.WithCancel(context.Background())
	defer stopRunning()
	var wg sync.WaitGroup
	// The tail starts first: the runner, the gateway's follower and the
	// feeds wait for it.
	wg.Go(func() { _ = logTail.Run(runCtx) }) // read failures are logged and retried inside
	wg.Add(2)
	go func() {
		defer wg.Done()
		if err := runner.Run(runCtx); err != nil {
			logger.Error("projection runner stopped", "err", err)
		}
	}()
	wg.Go(func() { sweeper.Run(runCtx) }) // failures are logged and retried inside
	if feedRelay != nil {
		// Every node runs the relay; the one holding its lease publishes.
		wg.Go(func() { _ = feedRelay.Run(runCtx) }) // failures are logged and retried inside
	}
	if runNotify != nil {
		runNotify(runCtx, &wg)
	}
	gwErr := make(chan error, 1)
	go func() {
		defer wg.Done()
		gwErr <- gw.Run(runCtx)
	}()
	select {
	case <-gw.Ready():
	case err := <-gwErr:
		stopRunning()
		wg.Wait()
		return fmt.Errorf("start push: %w", err)
	}

	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	logger.Info("tellyou serving", "addr", ln.Addr().String(), "database", redact(cfg.DatabaseURL), "bus", cfg.Bus)
	var debugSrv *http.Server
	if debugLn != nil {
		debugSrv = newDebugServer(cfg.DebugAddr)
		wg.Add(1)
		go func() {
			defer wg.Done()
			// A failing profiling endpoint is logged; it does not stop the node.
			if err := debugSrv.Serve(debugLn); !errors.Is(err, http.ErrServerClosed) {
				logger.Error("pprof server stopped", "addr", debugLn.Addr().String(), "err", err)
			}
		}()
		logger.Info("pprof serving", "addr", debugLn.Addr().String())
	}

	select {
	case <-ctx.Done():
		logger.Info("shutting down")
	case err = <-serveErr:
	case err = <-gwErr:
		err = fmt.Errorf("push stopped: %w", err)
	}
	shutdownCtx, done := context.WithTimeout(context.Background(), shutdownGrace)
	defer done()
	if shutErr := gw.Shutdown(shutdownCtx); shutErr != nil {
		logger.Warn("closing websockets", "err", shutErr)
	}
	if shutErr := srv.Shutdown(shutdownCtx); shutErr != nil && err == nil {
		err = shutErr
	}
	if debugSrv != nil {
		// Close, not Shutdown: a CPU profile being recorded would hold
		// Shutdown for its ?seconds=.
		if closeErr := debugSrv.Close(); closeErr != nil {
			logger.Warn("closing pprof server", "err", closeErr)
		}
	}
	stopRunning()
	wg.Wait()
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	logger.Info("tellyou stopped")
	return err
}

// openFeed opens the analytics feed (its JetStream stream and the relay that
// publishes the log on it) when cfg.FeedTopic is set; nils otherwise.
func openFeed(ctx context.Context, cfg config, eng *engine, log feedbus.Log, logger *slog.Logger) (*feedbus.NATSFeed, *feedbus.Relay, error) {
	if cfg.FeedTopic == "" {
		return nil, nil, nil
	}
	feed, err := feedbus.OpenNATS(ctx, feedbus.NATSConfig{URL: cfg.Bus, Topic: cfg.FeedTopic, Logger: logger})
	if err != nil {
		return nil, nil, fmt.Errorf("open analytics feed: %w", err)
	}
	relay, err := feedbus.NewRelay(feedbus.RelayConfig{Store: log, Pool: eng.Pool,
		Publisher: feed.Publisher(), Topic: cfg.FeedTopic, Logger: logger})
	if err != nil {
		_ = feed.Close()
		return nil, nil, fmt.Errorf("analytics feed relay: %w", err)
	}
	return feed, relay, nil
}

// openBus returns the bus between nodes that cfg.Bus names, with the
// delivery topics on it: for "memory", no bus (nil: one node) and the
// default topics.
//
// With NATS a node publishes the events it appends (the fast path) and every
// node's hub receives them; each node's follower of the log delivers what
// the bus did not. Every node receives every event (broadcast) and drops
// those of sessions without members connected to it. Routing per user (a
// subject per user, subscribed while the user is connected) would spare
// that, but costs a subscription per user, a publish per member and ordering
// across subjects; broadcast is good enough while every node can afford the
// whole event rate (see ARCHITECTURE.md).
func openBus(ctx context.Context, cfg config, logger *slog.Logger) (*gateway.NATSBus, delivery.Options, error) {
	if cfg.Bus == "memory" {
		return nil, delivery.Options{}, nil
	}
	bus, err := gateway.NewNATSBus(ctx, gateway.NATSBusConfig{URL: cfg.Bus, Prefix: cfg.BusPrefix, Logger: logger})
	if err != nil {
		return nil, delivery.Options{}, fmt.Errorf("open bus: %w", err)
	}
	return bus, delivery.Options{EventsTopic: bus.EventsTopic(), TypingTopic: bus.TypingTopic()}, nil
}
