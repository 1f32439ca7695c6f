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

	"github.com/tellyou/tellyou/projections"
)

func serveCmd(ctx context.Context, cfg config, logger *slog.Logger, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&cfg.Addr, "addr", cfg.Addr, "listen address (TELLYOU_ADDR)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	eng, err := openEngine(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer eng.Close()
	if _, err := signingSecret(ctx, cfg, true); err != nil {
		return err
	}
	runner, err := projections.NewRunner(projections.RunnerConfig{Store: eng.Store, Pool: eng.Pool, Logger: logger})
	if err != nil {
		return err
	}

	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintln(w, `{"status":"ok"}`)
	})
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Addr, err)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	logger.Info("tellyou serving", "addr", ln.Addr().String())

	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := runner.Run(runCtx); err != nil {
			logger.Error("projection runner stopped", "err", err)
		}
	}()
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()

	select {
	case <-ctx.Done():
	case err = <-serveErr:
	}
	shutdownCtx, done := context.WithTimeout(context.Background(), 10*time.Second)
	defer done()
	if shutErr := srv.Shutdown(shutdownCtx); shutErr != nil && err == nil {
		err = shutErr
	}
	cancel()
	wg.Wait()
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	logger.Info("tellyou stopped")
	return err
}
