// Package metrics holds the server's Prometheus metrics on a registry of its
// own (no global state), so several servers can run in one process.
package metrics

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Metrics are the server's instruments. All are safe for concurrent use.
type Metrics struct {
	Registry *prometheus.Registry

	// MessagesSent counts sends that were durably appended (duplicates excluded).
	MessagesSent prometheus.Counter
	// SendAckLatency is the time from a send frame's arrival to its sendAck.
	SendAckLatency prometheus.Histogram
	// PushLatency is the time from an event's append (its occurredAt) to the
	// push frame being handed to a connection's writer.
	PushLatency prometheus.Histogram
	// ConnectedClients is the number of open WebSocket connections.
	ConnectedClients prometheus.Gauge
	// Redeliveries counts messages pushed again for want of a received ack.
	Redeliveries prometheus.Counter
	// RateLimited counts frames and requests refused with rate_limited.
	RateLimited prometheus.Counter
	// SlowClientsClosed counts connections closed as too slow (1013): their
	// socket stalled, or their outgoing queue passed its bytes.
	SlowClientsClosed prometheus.Counter
	// FrameErrors counts error frames sent, by code.
	FrameErrors *prometheus.CounterVec
	// HTTPRequests counts HTTP answers by route pattern and status code.
	HTTPRequests *prometheus.CounterVec
	// DeadLetters counts events the push hub gave up on after its retries and
	// put in the dead-letter queue.
	DeadLetters prometheus.Counter
	// ProjectionFailures counts failed attempts of a projection to apply its
	// next events, by projection: each failed retry counts.
	ProjectionFailures *prometheus.CounterVec
	// DeliveryEvents counts events the delivery hub handled, by the way they
	// came (source: fast, bus, log) and what became of them (outcome:
	// delivered, repeated, overflow, not_published).
	DeliveryEvents *prometheus.CounterVec
	// DeliveryGapsSkipped counts runs of events pushed without the events
	// before them, which did not come within the hold timeout.
	DeliveryGapsSkipped prometheus.Counter

	// EventStoreAppend, EventStoreRead, EventStoreErrors and EventsAppended
	// measure the event store through an InstrumentedStore (see
	// NewInstrumentedStore): append durations, read durations by operation,
	// failures by operation and reason, and events written.
	EventStoreAppend prometheus.Histogram
	EventStoreRead   *prometheus.HistogramVec
	EventStoreErrors *prometheus.CounterVec
	EventsAppended   prometheus.Counter

	// Notifications counts the recipients of messages the offline
	// notification trigger decided on, by outcome: enqueued, muted, online,
	// stale (see notify.Outcome*).
	Notifications *prometheus.CounterVec
}

// New creates the instruments on a fresh registry, which also carries the Go
// runtime and process collectors.
func New() *Metrics {
	r := prometheus.NewRegistry()
	m := &Metrics{
		Registry: r,
		MessagesSent: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tellyou_messages_sent_total", Help: "Messages durably appended (duplicates excluded).",
		}),
		SendAckLatency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "tellyou_send_ack_latency_seconds", Help: "Time from a send frame's arrival to its sendAck.",
			Buckets: latencyBuckets,
		}),
		PushLatency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "tellyou_push_latency_seconds", Help: "Time from an event's append to its push to a connection.",
			Buckets: latencyBuckets,
		}),
		ConnectedClients: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "tellyou_connected_clients", Help: "Open WebSocket connections.",
		}),
		Redeliveries: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tellyou_redeliveries_total", Help: "Messages pushed again because no received ack came in time.",
		}),
		RateLimited: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tellyou_rate_limited_total", Help: "Frames and requests refused with rate_limited.",
		}),
		SlowClientsClosed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tellyou_slow_clients_closed_total", Help: "Connections closed as too slow: their socket stalled, or their outgoing queue passed its bytes.",
		}),
		FrameErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tellyou_frame_errors_total", Help: "Error frames sent, by code.",
		}, []string{"code"}),
		HTTPRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tellyou_http_requests_total", Help: "HTTP answers by route and status code.",
		}, []string{"route", "code"}),
		DeadLetters: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tellyou_dead_letters_total", Help: "Events the push hub could not push after its retries, put in the dead-letter queue.",
		}),
		ProjectionFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tellyou_projection_failures_total", Help: "Failed attempts of a projection to apply its next events (each failed retry counts).",
		}, []string{"projection"}),
	}
	m.DeliveryEvents = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "tellyou_delivery_events_total",
		Help: "Events the delivery hub handled, by source (fast, bus, log) and outcome (delivered, repeated, overflow, not_published).",
	}, []string{"source", "outcome"})
	m.DeliveryGapsSkipped = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "tellyou_delivery_gaps_skipped_total",
		Help: "Runs of events pushed without the events before them, which did not come within the hold timeout.",
	})
	m.EventStoreAppend, m.EventStoreRead, m.EventStoreErrors, m.EventsAppended = newEventStoreMetrics()
	m.Notifications = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "tellyou_notifications_total",
		Help: "Recipients of messages the offline notification trigger decided on, by outcome (enqueued, muted, online, stale).",
	}, []string{"outcome"})
	// The error codes that mean the server failed (PROTOCOL.md) are present
	// at zero from the start, so that an alert on their rate sees the first.
	for _, code := range []string{"internal", "unavailable"} {
		m.FrameErrors.WithLabelValues(code)
	}
	r.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.MessagesSent, m.SendAckLatency, m.PushLatency, m.ConnectedClients, m.Redeliveries,
		m.RateLimited, m.SlowClientsClosed, m.FrameErrors, m.HTTPRequests, m.DeadLetters, m.ProjectionFailures,
		m.EventStoreAppend, m.EventStoreRead, m.EventStoreErrors, m.EventsAppended,
		m.DeliveryEvents, m.DeliveryGapsSkipped, m.Notifications,
	)
	return m
}

// latencyBuckets span 0.5 ms to 10 s.
var latencyBuckets = []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}
