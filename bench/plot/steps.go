package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
)

// step is the part of a `tellyou bench` step report the figures use.
type step struct {
	Step            int      `json:"step"`
	TargetRate      *float64 `json:"targetRate"` // 0: as fast as possible
	GroupSize       int      `json:"groupSize"`
	Recipients      int      `json:"recipients"` // connections each message is pushed to
	Skipped         string   `json:"skipped"`
	DeliveredPerSec *float64 `json:"deliveredPerSec"`
	DeliveryLatency *struct {
		Count int64    `json:"count"`
		P50   *float64 `json:"p50Ms"`
		P99   *float64 `json:"p99Ms"`
	} `json:"deliveryLatency"`
}

// runKind is what a file of step reports must hold.
type runKind int

const (
	sweepRun  runKind = iota // every step has a targetRate
	fanOutRun                // every step has a groupSize
)

// readSteps reads the step reports in path, one JSON object per line, and
// checks that each holds what the figure of kind needs. Skipped steps are
// kept (the figures name them); at least one step must have deliveries.
func readSteps(path string, kind runKind) ([]step, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read the step reports: %w", err)
	}
	var steps []step
	measured := 0
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for line := 1; sc.Scan(); line++ {
		text := bytes.TrimSpace(sc.Bytes())
		if len(text) == 0 {
			continue
		}
		var s step
		if err := json.Unmarshal(text, &s); err != nil {
			return nil, fmt.Errorf("%s line %d: not a step report (one JSON object per line, as bench --json writes): %w", path, line, err)
		}
		if err := s.check(kind); err != nil {
			return nil, fmt.Errorf("%s line %d: %w", path, line, err)
		}
		if s.Skipped == "" && s.DeliveryLatency.Count > 0 {
			measured++
		}
		steps = append(steps, s)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	switch {
	case len(steps) == 0:
		return nil, fmt.Errorf("%s: no step reports", path)
	case measured == 0:
		return nil, fmt.Errorf("%s: no step delivered anything to plot", path)
	}
	return steps, nil
}

// check reports what the figure of kind misses in s.
func (s step) check(kind runKind) error {
	switch {
	case s.Step < 1:
		return errors.New(`no "step" number`)
	case kind == sweepRun && s.TargetRate == nil:
		return errors.New(`no "targetRate": not the report of a sweep step`)
	case kind == sweepRun && *s.TargetRate < 0:
		return fmt.Errorf(`"targetRate" %v is negative`, *s.TargetRate)
	case kind == fanOutRun && s.GroupSize < 2:
		return errors.New(`no "groupSize": not the report of a fan-out step (--scenario group --group-sizes)`)
	case s.Skipped != "":
		return nil
	case s.DeliveredPerSec == nil || s.DeliveryLatency == nil || s.DeliveryLatency.P50 == nil || s.DeliveryLatency.P99 == nil:
		return errors.New(`no "deliveredPerSec" or "deliveryLatency" with "p50Ms" and "p99Ms"`)
	case *s.DeliveredPerSec < 0 || *s.DeliveryLatency.P50 < 0 || *s.DeliveryLatency.P99 < *s.DeliveryLatency.P50:
		return fmt.Errorf("impossible figures: %v delivered/s, p50 %v ms, p99 %v ms", *s.DeliveredPerSec, *s.DeliveryLatency.P50, *s.DeliveryLatency.P99)
	}
	return nil
}

// plotted reports whether s has deliveries to plot.
func (s step) plotted() bool { return s.Skipped == "" && s.DeliveryLatency.Count > 0 }

// offered names s's offered rate.
func (s step) offered() string {
	if *s.TargetRate == 0 {
		return "max"
	}
	return fmt.Sprintf("%.0f/s", *s.TargetRate)
}
