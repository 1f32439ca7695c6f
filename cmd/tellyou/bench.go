package main

import (
	"cmp"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/tellyou/tellyou/cmd/tellyou/loadgen"
)

// benchCmd drives a running server with a load scenario (package loadgen) and
// prints what each step measured. Tokens are signed with TELLYOU_JWT_SECRET or
// the secret the server keeps in TELLYOU_DATABASE_URL. With --worker it is a
// worker process of another bench instead, speaking on stdin and stdout.
func benchCmd(ctx context.Context, cfg config, logger *slog.Logger, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var lc loadgen.Config
	fs.StringVar(&lc.Addr, "addr", cfg.Addr, "server address, loopback only (TELLYOU_ADDR)")
	fs.StringVar(&lc.Scenario, "scenario", loadgen.ScenarioDirect, "one of "+strings.Join(loadgen.Scenarios, ", "))
	fs.IntVar(&lc.Users, "users", 100, "users (the group scenario uses --group-size)")
	fs.IntVar(&lc.ConnsPerUser, "conns-per-user", 1, "connections per user (1-16)")
	fs.Float64Var(&lc.Rate, "rate", 0, "messages per second in total; 0: as fast as possible, --in-flight per connection")
	fs.IntVar(&lc.InFlight, "in-flight", 4, "unanswered sends per connection")
	fs.DurationVar(&lc.Duration, "duration", 0, "length of each step's sending phase (default 10s unless --messages); idle: how long connections are held")
	fs.DurationVar(&lc.Duration, "step-duration", 0, "the same as --duration")
	fs.Int64Var(&lc.Messages, "messages", 0, "stop each step after this many sends (0: no limit)")
	fs.IntVar(&lc.Payload, "payload", 100, "content bytes per message")
	fs.IntVar(&lc.GroupSize, "group-size", 500, "members of the group scenario's group (at least 2; the server's limit applies)")
	fs.IntVar(&lc.ServerPID, "server-pid", 0, "read the server's CPU, RSS and open-file limit from /proc/<pid>; else CPU and RSS from its /metrics")
	fs.StringVar(&lc.DebugAddr, "debug-addr", "", "the server's pprof address (serve --debug-addr): also report its live heap, stacks and goroutines")
	fs.IntVar(&lc.Sources, "sources", 1, "loopback source addresses per process to spread connections over")
	fs.IntVar(&lc.Procs, "procs", 0, fmt.Sprintf("processes holding the connections (0: one per %d connections)", loadgen.ConnsPerProcess))
	fs.DurationVar(&lc.Drain, "drain", 10*time.Second, "longest wait for answers and pushes after sending")
	fs.DurationVar(&lc.Settle, "settle", 3*time.Minute, "longest wait for an idle server before each step (negative: no wait)")
	sweep := fs.String("sweep", "", "one step per offered rate, e.g. 500,1000,2000,max (messages/s in total; max: as fast as possible)")
	sizes := fs.String("group-sizes", "", "group scenario: one step per group size, e.g. 10,100,1000, at --rate")
	jsonFile := fs.String("json", "", "also write each step's report to this file, one JSON object per line (-: standard output)")
	worker := fs.Bool("worker", false, "serve as a worker process of another bench on stdin and stdout (started by bench itself)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("bench: unexpected arguments %q", fs.Args())
	}
	if *worker {
		return loadgen.ServeWorker(ctx, stdin, stdout)
	}
	var err error
	if *sweep != "" {
		if lc.Sweep, err = loadgen.ParseRates(*sweep); err != nil {
			return fmt.Errorf("bench: --sweep: %w", err)
		}
	}
	if *sizes != "" {
		if lc.GroupSizes, err = loadgen.ParseSizes(*sizes); err != nil {
			return fmt.Errorf("bench: --group-sizes: %w", err)
		}
	}
	if lc.Secret, err = signingSecret(ctx, cfg); err != nil {
		return fmt.Errorf("bench: signing secret: %w", err)
	}
	if exe, err := os.Executable(); err == nil {
		lc.WorkerCommand, lc.WorkerStderr = []string{exe, "bench", "--worker"}, stderr
	}
	out, closeOut, err := reportFile(*jsonFile, stdout)
	if err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	logger.Info("bench starting", "scenario", lc.Scenario, "addr", lc.Addr)
	var reports []*loadgen.Report
	err = loadgen.Run(ctx, lc, func(r *loadgen.Report) error {
		reports = append(reports, r)
		if err := r.WriteTable(stdout); err != nil {
			return err
		}
		fmt.Fprintln(stdout)
		if out != nil {
			return out.Encode(r)
		}
		return nil
	})
	if len(reports) > 1 {
		err = cmp.Or(err, loadgen.WriteSummary(stdout, reports))
	}
	if err = cmp.Or(err, closeOut()); err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	return nil
}

// reportFile opens the file the step reports go to: none for "", standard
// output for "-".
func reportFile(name string, stdout io.Writer) (*json.Encoder, func() error, error) {
	switch name {
	case "":
		return nil, func() error { return nil }, nil
	case "-":
		return json.NewEncoder(stdout), func() error { return nil }, nil
	}
	f, err := os.Create(name)
	if err != nil {
		return nil, nil, fmt.Errorf("--json: %w", err)
	}
	return json.NewEncoder(f), f.Close, nil
}
