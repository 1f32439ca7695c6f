package loadgen

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"text/tabwriter"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// Report is what a run measured. Rates are per second of the sending phase
// (sent) or from its start to the last answer or push (acked, delivered).
type Report struct {
	Scenario     string  `json:"scenario"`
	Addr         string  `json:"addr"`
	Users        int     `json:"users"`
	ConnsPerUser int     `json:"connsPerUser"`
	Connections  int     `json:"connections"` // connections opened, reconnections included
	TargetRate   float64 `json:"targetRate"`  // 0: as fast as possible
	SendSeconds  float64 `json:"sendSeconds"`

	Sent        int64   `json:"sent"`
	Acked       int64   `json:"acked"`
	Delivered   int64   `json:"delivered"`  // pushes of this run's messages, repeats excluded
	Repeats     int64   `json:"repeats"`    // pushes of a (session, seq) the connection already had
	Synced      int64   `json:"synced"`     // messages fetched by sync after reconnects
	Reconnects  int64   `json:"reconnects"` // reconnections (reconnect scenario)
	AcksSent    int64   `json:"acksSent"`   // ack frames (received and read)
	AcksOK      int64   `json:"acksOk"`     // ack frames answered ok
	Syncs       int64   `json:"syncs"`      // sync frames
	Unanswered  int64   `json:"unanswered"` // sends without an answer when the run ended
	Recipients  int     `json:"recipients"` // connections each message is pushed to when every one is online
	SentPerSec  float64 `json:"sentPerSec"`
	AckedPerSec float64 `json:"ackedPerSec"`
	// DeliveredPerSec counts pushes, one per receiving connection.
	DeliveredPerSec float64 `json:"deliveredPerSec"`

	SendAckLatency  Latency          `json:"sendAckLatency"`
	DeliveryLatency Latency          `json:"deliveryLatency"`
	Errors          map[string]int64 `json:"errors"`
	Server          ServerUsage      `json:"server"`
	// FirstDialError is the first connection failure, when there was one.
	FirstDialError string `json:"firstDialError,omitempty"`
}

// Latency summarises a histogram, in milliseconds.
type Latency struct {
	Count int64   `json:"count"`
	P50   float64 `json:"p50Ms"`
	P90   float64 `json:"p90Ms"`
	P99   float64 `json:"p99Ms"`
	Max   float64 `json:"maxMs"`
}

func summarise(h *hdrhistogram.Histogram) Latency {
	ms := func(us int64) float64 { return float64(us) / 1000 }
	return Latency{Count: h.TotalCount(), P50: ms(h.ValueAtQuantile(50)), P90: ms(h.ValueAtQuantile(90)),
		P99: ms(h.ValueAtQuantile(99)), Max: ms(h.Max())}
}

// ServerUsage is the server process's CPU and memory around the run.
type ServerUsage struct {
	Source     string  `json:"source"` // "/proc/<pid>", "/metrics" or "" when unreadable
	CPUBefore  float64 `json:"cpuSecondsBefore"`
	CPUAfter   float64 `json:"cpuSecondsAfter"`
	CPUSeconds float64 `json:"cpuSeconds"`
	// CPUCores is CPUSeconds over the run's wall time: cores busy on average.
	CPUCores  float64 `json:"cpuCores"`
	RSSBefore int64   `json:"rssBytesBefore"`
	// RSSAfter is read while the connections are still open.
	RSSAfter   int64   `json:"rssBytesAfter"`
	RSSPerConn float64 `json:"rssBytesPerConn"`
	Error      string  `json:"error,omitempty"`
}

// WriteTable prints the report for people.
func (r *Report) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	p := func(format string, a ...any) { fmt.Fprintf(tw, format+"\n", a...) }
	rate := "as fast as possible"
	if r.TargetRate > 0 {
		rate = fmt.Sprintf("%.0f msg/s", r.TargetRate)
	}
	p("scenario\t%s (%s, %d users x %d conns, target %s)", r.Scenario, r.Addr, r.Users, r.ConnsPerUser, rate)
	p("connections\t%d opened", r.Connections)
	p("sending\t%.1f s", r.SendSeconds)
	p("messages\tsent %d, acked %d, unanswered %d, delivered %d (x%d recipients expected), repeats %d", r.Sent, r.Acked, r.Unanswered, r.Delivered, r.Recipients, r.Repeats)
	p("rates\tsent %.0f/s, acked %.0f/s, delivered %.0f/s", r.SentPerSec, r.AckedPerSec, r.DeliveredPerSec)
	lat := func(name string, l Latency) {
		p("%s\tp50 %.2f ms, p90 %.2f ms, p99 %.2f ms, max %.2f ms (n=%d)", name, l.P50, l.P90, l.P99, l.Max, l.Count)
	}
	lat("send->sendAck", r.SendAckLatency)
	lat("send->delivered", r.DeliveryLatency)
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
		p("server RSS\t%s before, %s after, %s per connection", bytesText(s.RSSBefore), bytesText(s.RSSAfter), bytesText(int64(s.RSSPerConn)))
	}
	return tw.Flush()
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

func perSecond(n int64, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}

// report builds the Report once the run is over.
func (r *run) report(start time.Time, sendTime time.Duration, usage ServerUsage) *Report {
	rec := r.rec
	rec.mu.Lock()
	defer rec.mu.Unlock()
	since := func(unixNano int64) time.Duration {
		if unixNano == 0 {
			return 0
		}
		return time.Unix(0, unixNano).Sub(start)
	}
	rep := &Report{Scenario: r.cfg.Scenario, Addr: r.cfg.Addr, Users: r.cfg.Users, ConnsPerUser: r.cfg.ConnsPerUser,
		Connections: rec.connected, TargetRate: r.cfg.Rate, SendSeconds: sendTime.Seconds(),
		Sent: rec.sent.Load(), Acked: rec.acked.Load(), Delivered: rec.delivered.Load(), Repeats: rec.repeats.Load(),
		Synced: rec.synced.Load(), Reconnects: rec.reconnects.Load(), AcksSent: rec.acksSent.Load(), AcksOK: rec.acksOK.Load(),
		Syncs: rec.syncs.Load(), Unanswered: rec.errors["send:unanswered"], Recipients: r.recipients,
		SendAckLatency: summarise(rec.sendAck), DeliveryLatency: summarise(rec.delivery),
		Errors: map[string]int64{}, Server: usage}
	rep.SentPerSec = perSecond(rep.Sent, sendTime)
	rep.AckedPerSec = perSecond(rep.Acked, since(rec.lastAck.Load()))
	rep.DeliveredPerSec = perSecond(rep.Delivered, since(rec.lastDelivery.Load()))
	for k, v := range rec.errors {
		rep.Errors[k] = v
	}
	if r.dialErr != "" {
		rep.FirstDialError = r.dialErr
	}
	return rep
}
