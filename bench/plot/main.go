// Command plot draws the load figures of BENCHMARKS.md from the step reports
// `tellyou bench --json FILE` writes (one JSON object per line):
//
//   - from a sweep of offered load (--sweep), latency against throughput:
//     p50 and p99 send->delivered (log scale) against delivered messages/s,
//     each point labelled with its offered rate;
//   - from a fan-out run (--scenario group --group-sizes), deliveries/s and
//     send->delivered p50 and p99 against the group size.
//
// Usage:
//
//	go run ./bench/plot -sweep sweep.jsonl -fanout fanout.jsonl \
//	    -latency-png docs/bench-latency-throughput.png -fanout-png docs/bench-fanout.png
//
// It reads only the documented fields of the reports (step, targetRate,
// groupSize, recipients, skipped, deliveredPerSec, deliveryLatency.p50Ms and
// p99Ms).
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
)

func main() {
	if err := run(os.Args[1:], os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "plot:", err)
		}
		os.Exit(1)
	}
}

func run(args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("plot", flag.ContinueOnError)
	fs.SetOutput(stderr)
	sweep := fs.String("sweep", "", "step reports of a sweep of offered load (tellyou bench --sweep ... --json FILE)")
	fanout := fs.String("fanout", "", "step reports of a fan-out run (tellyou bench --scenario group --group-sizes ... --json FILE)")
	latencyPNG := fs.String("latency-png", "docs/bench-latency-throughput.png", "where the latency/throughput figure goes")
	fanoutPNG := fs.String("fanout-png", "docs/bench-fanout.png", "where the fan-out figure goes")
	note := fs.String("note", "", "a line under each title, e.g. the machine and the commit measured")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if *sweep == "" && *fanout == "" {
		return errors.New("nothing to plot: give -sweep FILE, -fanout FILE or both")
	}
	if *sweep != "" {
		steps, err := readSteps(*sweep, sweepRun)
		if err != nil {
			return err
		}
		if err := savePNG(*latencyPNG, func() (figure, error) { return latencyFigure(steps, *note) }); err != nil {
			return err
		}
	}
	if *fanout != "" {
		steps, err := readSteps(*fanout, fanOutRun)
		if err != nil {
			return err
		}
		if err := savePNG(*fanoutPNG, func() (figure, error) { return fanOutFigure(steps, *note) }); err != nil {
			return err
		}
	}
	return nil
}
