package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/tellyou/tellyou/cmd/tellyou/loadgen"
)

// benchCmd drives a running server with a load scenario (package loadgen) and
// prints what it measured. Tokens are signed with TELLYOU_JWT_SECRET or the
// secret the server keeps in TELLYOU_DATABASE_URL.
func benchCmd(ctx context.Context, cfg config, logger *slog.Logger, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var lc loadgen.Config
	fs.StringVar(&lc.Addr, "addr", cfg.Addr, "server address, loopback only (TELLYOU_ADDR)")
	fs.StringVar(&lc.Scenario, "scenario", loadgen.ScenarioDirect, "one of "+strings.Join(loadgen.Scenarios, ", "))
	fs.IntVar(&lc.Users, "users", 100, "users (the group scenario uses --group-size)")
	fs.IntVar(&lc.ConnsPerUser, "conns-per-user", 1, "connections per user (1-16)")
	fs.Float64Var(&lc.Rate, "rate", 0, "messages per second in total; 0: as fast as possible, --in-flight per connection")
	fs.IntVar(&lc.InFlight, "in-flight", 4, "unanswered sends per connection")
	fs.DurationVar(&lc.Duration, "duration", 0, "length of the sending phase (default 10s unless --messages); idle: how long connections are held")
	fs.Int64Var(&lc.Messages, "messages", 0, "stop after this many sends (0: no limit)")
	fs.IntVar(&lc.Payload, "payload", 100, "content bytes per message")
	fs.IntVar(&lc.GroupSize, "group-size", 500, "members of the group scenario's group (2-1000)")
	fs.IntVar(&lc.ServerPID, "server-pid", 0, "read the server's CPU and RSS from /proc/<pid>; else from its /metrics")
	fs.IntVar(&lc.Sources, "sources", 1, "loopback source addresses 127.0.0.1..n to spread connections over")
	fs.DurationVar(&lc.Drain, "drain", 10*time.Second, "longest wait for answers and pushes after sending")
	asJSON := fs.Bool("json", false, "print the report as JSON too")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("bench: unexpected arguments %q", fs.Args())
	}
	secret, err := signingSecret(ctx, cfg)
	if err != nil {
		return fmt.Errorf("bench: signing secret: %w", err)
	}
	lc.Secret = secret
	logger.Info("bench starting", "scenario", lc.Scenario, "addr", lc.Addr)
	rep, err := loadgen.Run(ctx, lc)
	if err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	if err := rep.WriteTable(stdout); err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	return nil
}
