package loadgen

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// recorder collects a run's counts and latencies; every method is safe for
// concurrent use.
type recorder struct {
	sent, acked, delivered, repeats, synced atomic.Int64
	acksSent, acksOK, syncs, reconnects     atomic.Int64
	lastAck, lastDelivery                   atomic.Int64 // unix ns

	mu        sync.Mutex
	sendAck   *hdrhistogram.Histogram // microseconds
	delivery  *hdrhistogram.Histogram // microseconds
	errors    map[string]int64
	connected int
}

// Latencies are recorded in microseconds, from 1 µs to 10 minutes, to 3
// significant digits.
const maxLatencyMicros = int64(10 * time.Minute / time.Microsecond)

func newRecorder() *recorder {
	return &recorder{
		sendAck:  hdrhistogram.New(1, maxLatencyMicros, 3),
		delivery: hdrhistogram.New(1, maxLatencyMicros, 3),
		errors:   map[string]int64{},
	}
}

func micros(d time.Duration) int64 {
	return min(max(d.Microseconds(), 1), maxLatencyMicros)
}

func (r *recorder) ackReceived(latency time.Duration, now time.Time) {
	r.acked.Add(1)
	r.lastAck.Store(now.UnixNano())
	r.mu.Lock()
	_ = r.sendAck.RecordValue(micros(latency))
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

func (r *recorder) connOpened() {
	r.mu.Lock()
	r.connected++
	r.mu.Unlock()
}

func (r *recorder) errorCount(prefix string) int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	var n int64
	for k, v := range r.errors {
		if len(k) >= len(prefix) && k[:len(prefix)] == prefix {
			n += v
		}
	}
	return n
}
