// Command analytics is an example consumer of TellYou's analytics feed: it
// reads the feed from NATS JetStream as a durable consumer, so that it
// resumes where it left off, and counts the messages sent and recalled per
// session per minute, printing a table every few seconds and when it stops
// (Ctrl-C). See docs/analytics.md.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/tellyou/tellyou/handlers/feedbus"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := mainErr(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "analytics:", err)
		os.Exit(1)
	}
}

func mainErr(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("analytics", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg config
	fs.StringVar(&cfg.NATSURL, "nats", "nats://127.0.0.1:4222", "NATS server with JetStream")
	fs.StringVar(&cfg.Topic, "topic", feedbus.DefaultTopic, "the feed's topic (TELLYOU_FEED_TOPIC of the servers)")
	fs.StringVar(&cfg.Durable, "durable", "analytics", "name of the durable consumer; the same name resumes where it left off")
	fs.DurationVar(&cfg.Every, "every", 10*time.Second, "how often to print the table")
	fs.DurationVar(&cfg.AckWait, "ack-wait", 30*time.Second, "how long before an unacked message is delivered again")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	logger := slog.New(slog.NewTextHandler(stderr, nil))
	_, err := run(ctx, cfg, stdout, logger)
	return err
}
