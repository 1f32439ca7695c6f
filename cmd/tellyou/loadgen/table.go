package loadgen

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"text/tabwriter"
)

// WriteTable prints the report for people.
func (r *Report) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	p := func(format string, a ...any) { fmt.Fprintf(tw, format+"\n", a...) }
	rate := "as fast as possible"
	if r.TargetRate > 0 {
		rate = fmt.Sprintf("%.0f msg/s", r.TargetRate)
	}
	who := fmt.Sprintf("%d users x %d conns", r.Users, r.ConnsPerUser)
	if r.GroupSize > 0 {
		who = fmt.Sprintf("group of %d x %d conns", r.GroupSize, r.ConnsPerUser)
	}
	load := fmt.Sprintf(", target %s, %d in flight per conn", rate, r.InFlight)
	if r.Scenario == ScenarioIdle {
		load = ""
	}
	p("step %d/%d\t%s (%s, %s%s, %d procs)", r.Step, r.Steps, r.Scenario, r.Addr, who, load, r.Procs)
	if r.Skipped != "" {
		p("skipped\t%s", r.Skipped)
		return tw.Flush()
	}
	if r.SettleNote != "" || r.SettleSeconds >= 2.5 {
		p("settle\twaited %.1f s for an idle server %s", r.SettleSeconds, r.SettleNote)
	}
	p("connections\t%d opened", r.Connections)
	if r.Scenario != ScenarioIdle {
		p("sending\t%.1f s", r.SendSeconds)
		p("messages\tsent %d, acked %d, unanswered %d, delivered %d (x%d recipients expected), repeats %d", r.Sent, r.Acked, r.Unanswered, r.Delivered, r.Recipients, r.Repeats)
		if r.Missing != nil {
			p("missing\t%d of %d deliveries at the end of the drain, %d 5 s after sending stopped", *r.Missing, *r.ExpectedDeliveries, *r.MissingAfter5s)
		}
		if r.Overloaded > 0 || r.Resent > 0 || r.DuplicateAcks > 0 {
			p("overloaded\t%d refusals, %d resent, %d acked as duplicates", r.Overloaded, r.Resent, r.DuplicateAcks)
		}
		p("rates\tsent %.0f/s, acked %.0f/s, delivered %.0f/s", r.SentPerSec, r.AckedPerSec, r.DeliveredPerSec)
		lat := func(name string, l Latency) {
			p("%s\tp50 %.2f ms, p90 %.2f ms, p99 %.2f ms, max %.2f ms (n=%d)", name, l.P50, l.P90, l.P99, l.Max, l.Count)
		}
		lat("send->sendAck", r.SendAckLatency)
		if r.Overloaded > 0 {
			lat("  from 1st attempt", r.SendAckFirstLatency)
		}
		lat("send->delivered", r.DeliveryLatency)
	}
	if r.AcksSent > 0 || r.Syncs > 0 || r.Reconnects > 0 {
		p("receipts/sync\tacks %d (ok %d), reconnects %d, syncs %d, synced messages %d", r.AcksSent, r.AcksOK, r.Reconnects, r.Syncs, r.Synced)
	}
	if len(r.Errors) == 0 {
		p("errors\tnone")
	}
	for _, k := range slices.Sorted(maps.Keys(r.Errors)) {
		p("error\t%s: %d", k, r.Errors[k])
	}
	if r.FirstDialError != "" {
		p("first dial error\t%s", r.FirstDialError)
	}
	s := r.Server
	if s.Source == "" {
		p("server\tunreadable: %s", s.Error)
	} else {
		p("server CPU\t%.2f s (%.2f cores) [%s]", s.CPUSeconds, s.CPUCores, s.Source)
		p("server RSS\t%s before, %s after%s", bytesText(s.RSSBefore), bytesText(s.RSSAfter), perConn(r, bytesText(int64(s.RSSPerConn))))
	}
	if rt := s.Runtime; rt != nil && rt.Error != "" {
		p("server runtime\tunreadable: %s", rt.Error)
	} else if rt != nil {
		p("server heap\t%s -> %s live%s", bytesText(rt.HeapBefore), bytesText(rt.HeapAfter), perConn(r, bytesText(int64(rt.HeapPerConn))))
		p("server stacks\t%s -> %s%s", bytesText(rt.StackBefore), bytesText(rt.StackAfter), perConn(r, bytesText(int64(rt.StackPerConn))))
		p("goroutines\t%d -> %d%s", rt.GoroutinesBefore, rt.GoroutinesAfter, perConn(r, fmt.Sprintf("%.2f", rt.GoroutinesPerConn)))
	}
	return tw.Flush()
}

// perConn shows a growth per connection where it means one: in the idle
// scenario, whose connections open between the two readings.
func perConn(r *Report, v string) string {
	if r.Scenario != ScenarioIdle {
		return ""
	}
	return ", " + v + " per connection"
}

// WriteSummary prints one line per step: the shape of a sweep or a fan-out
// run at a glance.
func WriteSummary(w io.Writer, reports []*Report) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "step\tgroup\toffered/s\tsent/s\tacked/s\tdelivered/s\tack p50 ms\tack p99 ms\tdeliv p50 ms\tdeliv p99 ms\tmissing\trepeats\toverloaded\terrors\tcores\t")
	for _, r := range reports {
		offered := "max"
		if r.TargetRate > 0 {
			offered = fmt.Sprintf("%.0f", r.TargetRate)
		}
		group := "-"
		if r.GroupSize > 0 {
			group = fmt.Sprint(r.GroupSize)
		}
		if r.Skipped != "" {
			fmt.Fprintf(tw, "%d\t%s\t%s\tskipped\t\t\t\t\t\t\t\t\t\t\t\t\n", r.Step, group, offered)
			continue
		}
		missing := "-"
		if r.Missing != nil {
			missing = fmt.Sprint(*r.Missing)
		}
		var errs int64
		for _, n := range r.Errors {
			errs += n
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%.0f\t%.0f\t%.0f\t%.1f\t%.1f\t%.1f\t%.1f\t%s\t%d\t%d\t%d\t%.2f\t\n", r.Step, group, offered,
			r.SentPerSec, r.AckedPerSec, r.DeliveredPerSec, r.SendAckLatency.P50, r.SendAckLatency.P99,
			r.DeliveryLatency.P50, r.DeliveryLatency.P99, missing, r.Repeats, r.Overloaded, errs, r.Server.CPUCores)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, r := range reports {
		if r.Skipped != "" {
			if _, err := fmt.Fprintf(w, "step %d skipped: %s\n", r.Step, r.Skipped); err != nil {
				return err
			}
		}
	}
	return nil
}

func bytesText(n int64) string {
	switch {
	case n >= 1<<30 || n <= -1<<30:
		return fmt.Sprintf("%.2f GiB", float64(n)/(1<<30))
	case n >= 1<<20 || n <= -1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10 || n <= -1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
