package loadgen

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// recorder collects one process's counts and latencies during a step; every
// method is safe for concurrent use. A fleet resets it when a step starts
// and takes its tally when the step is over.
type recorder struct {
	sent, acked, delivered, repeats, synced atomic.Int64
	acksSent, acksOK, syncs, reconnects     atomic.Int64
	overloaded, resent, duplicateAcks       atomic.Int64
	lastAck, lastDelivery                   atomic.Int64 // unix ns

	mu           sync.Mutex
	sendAck      *hdrhistogram.Histogram // admitted attempt -> sendAck, µs
	sendAckFirst *hdrhistogram.Histogram // first attempt -> sendAck, µs
	delivery     *hdrhistogram.Histogram // first attempt -> push, µs
	errors       map[string]int64
}

// Latencies are recorded in microseconds, from 1 µs to 10 minutes, to 3
// significant digits.
const maxLatencyMicros = int64(10 * time.Minute / time.Microsecond)

func newHistogram() *hdrhistogram.Histogram { return hdrhistogram.New(1, maxLatencyMicros, 3) }

func newRecorder() *recorder {
	return &recorder{sendAck: newHistogram(), sendAckFirst: newHistogram(), delivery: newHistogram(), errors: map[string]int64{}}
}

func micros(d time.Duration) int64 {
	return min(max(d.Microseconds(), 1), maxLatencyMicros)
}

// ackReceived records a sendAck: admitted is the time since the attempt the
// server took, first the time since the message's first attempt (they
// differ when the server refused earlier attempts as overloaded).
func (r *recorder) ackReceived(admitted, first time.Duration, now time.Time) {
	r.acked.Add(1)
	r.lastAck.Store(now.UnixNano())
	r.mu.Lock()
	_ = r.sendAck.RecordValue(micros(admitted))
	_ = r.sendAckFirst.RecordValue(micros(first))
	r.mu.Unlock()
}

func (r *recorder) pushReceived(latency time.Duration, now time.Time) {
	r.delivered.Add(1)
	r.lastDelivery.Store(now.UnixNano())
	r.mu.Lock()
	_ = r.delivery.RecordValue(micros(latency))
	r.mu.Unlock()
}

// fail counts one error under kind ("send:rate_limited", "dial", ...).
func (r *recorder) fail(kind string) {
	r.mu.Lock()
	r.errors[kind]++
	r.mu.Unlock()
}

// reset forgets everything recorded so far.
func (r *recorder) reset() {
	for _, c := range []*atomic.Int64{&r.sent, &r.acked, &r.delivered, &r.repeats, &r.synced, &r.acksSent, &r.acksOK,
		&r.syncs, &r.reconnects, &r.overloaded, &r.resent, &r.duplicateAcks, &r.lastAck, &r.lastDelivery} {
		c.Store(0)
	}
	r.mu.Lock()
	r.sendAck.Reset()
	r.sendAckFirst.Reset()
	r.delivery.Reset()
	r.errors = map[string]int64{}
	r.mu.Unlock()
}

// snapshot copies what was recorded so far into a tally.
func (r *recorder) snapshot() *tally {
	t := &tally{Sent: r.sent.Load(), Acked: r.acked.Load(), Delivered: r.delivered.Load(), Repeats: r.repeats.Load(),
		Synced: r.synced.Load(), AcksSent: r.acksSent.Load(), AcksOK: r.acksOK.Load(), Syncs: r.syncs.Load(),
		Reconnects: r.reconnects.Load(), Overloaded: r.overloaded.Load(), Resent: r.resent.Load(),
		DuplicateAcks: r.duplicateAcks.Load(), LastAck: r.lastAck.Load(), LastDelivery: r.lastDelivery.Load(),
		Errors: map[string]int64{}}
	r.mu.Lock()
	defer r.mu.Unlock()
	t.SendAck = histogram{hdrhistogram.Import(r.sendAck.Export())}
	t.SendAckFirst = histogram{hdrhistogram.Import(r.sendAckFirst.Export())}
	t.Delivery = histogram{hdrhistogram.Import(r.delivery.Export())}
	for k, v := range r.errors {
		t.Errors[k] = v
	}
	return t
}
