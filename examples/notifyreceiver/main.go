// Command notifyreceiver is an example receiver of TellYou's offline
// notifications (TELLYOU_NOTIFY_URL): it verifies each request's Standard
// Webhooks signature with the secret shared with the server
// (TELLYOU_NOTIFY_SECRET), answers 401 to a forged or stale one, drops a
// repeated webhook-id, and prints the notification where a push gateway
// would send it on to the user's devices. See docs/protocol.md, "Offline
// notifications (webhook)".
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/tellyou/tellyou/handlers/notify"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	addr := flag.String("addr", "127.0.0.1:8099", "address to listen on")
	flag.Parse()
	if err := serve(ctx, *addr, os.Getenv("TELLYOU_NOTIFY_SECRET")); err != nil {
		fmt.Fprintln(os.Stderr, "notifyreceiver:", err)
		os.Exit(1)
	}
}

func serve(ctx context.Context, addr, secret string) error {
	wh, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		return fmt.Errorf("TELLYOU_NOTIFY_SECRET: %w", err)
	}
	h := newHandler(wh, func(n notify.Notification) {
		slog.Info("notify", "user", n.UserID, "session", n.SessionID, "seq", n.Seq, "from", n.SenderID, "title", n.Title)
	})
	srv := &http.Server{Addr: addr, Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		<-ctx.Done()
		shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shut)
	}()
	slog.Info("listening", "addr", addr)
	if err := srv.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
