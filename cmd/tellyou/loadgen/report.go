package loadgen

import (
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// Report is what one step of a run measured; `tellyou bench --json FILE`
// writes one per line. Rates are per second of the sending phase (sent) or
// from its start to the last answer or push (acked, delivered). Latencies
// of a run spread over processes come from their merged histograms.
type Report struct {
	Step         int     `json:"step"`  // from 1
	Steps        int     `json:"steps"` // in the run
	Scenario     string  `json:"scenario"`
	Addr         string  `json:"addr"`
	Users        int     `json:"users"`
	ConnsPerUser int     `json:"connsPerUser"`
	GroupSize    int     `json:"groupSize,omitempty"` // group scenario
	Procs        int     `json:"procs"`               // processes holding the connections
	Connections  int     `json:"connections"`         // connections opened, reconnections included
	TargetRate   float64 `json:"targetRate"`          // offered messages per second in total; 0: as fast as possible
	InFlight     int     `json:"inFlight"`            // unanswered sends per connection at most
	SendSeconds  float64 `json:"sendSeconds"`
	// Skipped, when set, says why the step did not run (a fan-out step the
	// machine cannot hold, a group the server refused); nothing else is
	// measured then.
	Skipped string `json:"skipped,omitempty"`
	// SettleSeconds is the wait for an idle server before the step;
	// SettleNote says when it gave up or could not tell.
	SettleSeconds float64 `json:"settleSeconds"`
	SettleNote    string  `json:"settleNote,omitempty"`

	Sent       int64 `json:"sent"`       // messages sent (resends not counted again)
	Acked      int64 `json:"acked"`      // messages acked
	Delivered  int64 `json:"delivered"`  // pushes of this run's messages, repeats excluded
	Repeats    int64 `json:"repeats"`    // pushes of a (session, seq) the connection already held
	Synced     int64 `json:"synced"`     // messages fetched by sync after reconnects
	Reconnects int64 `json:"reconnects"` // reconnections (reconnect scenario)
	AcksSent   int64 `json:"acksSent"`   // ack frames (received and read)
	AcksOK     int64 `json:"acksOk"`     // ack frames answered ok
	Syncs      int64 `json:"syncs"`      // sync frames
	// Overloaded counts the sends the server refused as overloaded; each was
	// written again, unchanged, after its retryAfterMs (Resent), the
	// refused sends of a connection first, in their order.
	Overloaded int64 `json:"overloaded"`
	Resent     int64 `json:"resent"`
	// DuplicateAcks counts sendAcks with "duplicate": true: a resent send
	// the server had stored after all.
	DuplicateAcks int64 `json:"duplicateAcks"`
	Unanswered    int64 `json:"unanswered"` // sends without a final answer when the step ended
	Recipients    int   `json:"recipients"` // connections each message is pushed to when every one is online
	// ExpectedDeliveries (acked x recipients), Missing (at the end of the
	// drain) and MissingAfter5s (5 s after the senders stopped, or at the
	// end of the drain when that came sooner) are present when every
	// recipient stays online: direct, group and mixed.
	ExpectedDeliveries *int64  `json:"expectedDeliveries,omitempty"`
	Missing            *int64  `json:"missing,omitempty"`
	MissingAfter5s     *int64  `json:"missingAfter5s,omitempty"`
	SentPerSec         float64 `json:"sentPerSec"`
	AckedPerSec        float64 `json:"ackedPerSec"`
	// DeliveredPerSec counts pushes, one per receiving connection.
	DeliveredPerSec float64 `json:"deliveredPerSec"`

	// SendAckLatency runs from the attempt the server took to its sendAck;
	// SendAckFirstLatency from the message's first attempt (they differ
	// when attempts were refused as overloaded). DeliveryLatency runs from
	// the first attempt to each push.
	SendAckLatency      Latency          `json:"sendAckLatency"`
	SendAckFirstLatency Latency          `json:"sendAckFirstLatency"`
	DeliveryLatency     Latency          `json:"deliveryLatency"`
	Errors              map[string]int64 `json:"errors"` // by kind: "send:<code>", "ack:<code>", "dial", "write", ...
	Server              ServerUsage      `json:"server"`
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

// ServerUsage is the server process's CPU and memory around the step.
type ServerUsage struct {
	Source     string  `json:"source"` // "/proc/<pid>", "/metrics" or "" when unreadable
	CPUBefore  float64 `json:"cpuSecondsBefore"`
	CPUAfter   float64 `json:"cpuSecondsAfter"`
	CPUSeconds float64 `json:"cpuSeconds"`
	// CPUCores is CPUSeconds over the step's wall time: cores busy on average.
	CPUCores  float64 `json:"cpuCores"`
	RSSBefore int64   `json:"rssBytesBefore"`
	// RSSAfter is read while the connections are still open.
	RSSAfter   int64   `json:"rssBytesAfter"`
	RSSPerConn float64 `json:"rssBytesPerConn"`
	Error      string  `json:"error,omitempty"`
	// Runtime is present when the server's pprof address was given.
	Runtime *RuntimeUsage `json:"runtime,omitempty"`
}

// RuntimeUsage is the server's Go runtime around the step, read from its
// pprof endpoint after a forced garbage collection.
type RuntimeUsage struct {
	HeapBefore        int64   `json:"heapBytesBefore"` // live heap
	HeapAfter         int64   `json:"heapBytesAfter"`
	StackBefore       int64   `json:"stackBytesBefore"` // goroutine stacks in use
	StackAfter        int64   `json:"stackBytesAfter"`
	GoroutinesBefore  int64   `json:"goroutinesBefore"`
	GoroutinesAfter   int64   `json:"goroutinesAfter"`
	HeapPerConn       float64 `json:"heapBytesPerConn"`
	StackPerConn      float64 `json:"stackBytesPerConn"`
	GoroutinesPerConn float64 `json:"goroutinesPerConn"`
	Error             string  `json:"error,omitempty"`
}

func perSecond(n int64, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}

// fill sets the report's counts, rates and latencies from t, the step's
// merged tally; the step started at start and stopped sending at sendEnd.
func (r *Report) fill(t *tally, start, sendEnd time.Time) {
	since := func(unixNano int64) time.Duration {
		if unixNano == 0 {
			return 0
		}
		return time.Unix(0, unixNano).Sub(start)
	}
	r.SendSeconds = sendEnd.Sub(start).Seconds()
	r.Sent, r.Acked, r.Delivered, r.Repeats, r.Synced = t.Sent, t.Acked, t.Delivered, t.Repeats, t.Synced
	r.Reconnects, r.AcksSent, r.AcksOK, r.Syncs = t.Reconnects, t.AcksSent, t.AcksOK, t.Syncs
	r.Overloaded, r.Resent, r.DuplicateAcks, r.Unanswered = t.Overloaded, t.Resent, t.DuplicateAcks, t.Unanswered
	r.SentPerSec = perSecond(r.Sent, sendEnd.Sub(start))
	r.AckedPerSec = perSecond(r.Acked, since(t.LastAck))
	r.DeliveredPerSec = perSecond(r.Delivered, since(t.LastDelivery))
	r.SendAckLatency = summarise(t.SendAck.Histogram)
	r.SendAckFirstLatency = summarise(t.SendAckFirst.Histogram)
	r.DeliveryLatency = summarise(t.Delivery.Histogram)
	for k, v := range t.Errors {
		r.Errors[k] += v
	}
}
