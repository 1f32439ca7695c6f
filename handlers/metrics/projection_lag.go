package metrics

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// ProjectionState is where one projection stands, as the lag collector needs it.
type ProjectionState struct {
	Name string
	// Checkpoint is the projection's position in the global log.
	Checkpoint int64
	// Behind counts the events after the checkpoint, capped by the source.
	Behind int64
	// Failing is true while the projection cannot apply its next event.
	Failing bool
}

// ProjectionSource reports the log head and every projection's state. It is
// called at each scrape.
type ProjectionSource func(ctx context.Context) (head int64, states []ProjectionState, err error)

// RegisterProjections adds the projection gauges, computed at scrape time:
// tellyou_log_head_position, tellyou_projection_checkpoint_position,
// tellyou_projection_lag_positions (head minus checkpoint; positions are
// sparse, so this is an upper bound), tellyou_projection_lag_events (events
// after the checkpoint, capped) and tellyou_projection_failing.
func (m *Metrics) RegisterProjections(src ProjectionSource) {
	m.Registry.MustRegister(&projectionCollector{src: src})
}

var (
	headDesc       = prometheus.NewDesc("tellyou_log_head_position", "Global position of the last final event in the log.", nil, nil)
	checkpointDesc = prometheus.NewDesc("tellyou_projection_checkpoint_position", "Global position a projection has applied up to.", []string{"projection"}, nil)
	lagPosDesc     = prometheus.NewDesc("tellyou_projection_lag_positions", "Log head minus the projection's checkpoint (an upper bound; positions are sparse).", []string{"projection"}, nil)
	lagEventsDesc  = prometheus.NewDesc("tellyou_projection_lag_events", "Events in the log after the projection's checkpoint (capped).", []string{"projection"}, nil)
	failingDesc    = prometheus.NewDesc("tellyou_projection_failing", "1 while the projection cannot apply its next event.", []string{"projection"}, nil)
	scrapeErrDesc  = prometheus.NewDesc("tellyou_projection_scrape_error", "1 when the projection state could not be read at this scrape.", nil, nil)
)

type projectionCollector struct {
	src ProjectionSource
}

func (c *projectionCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{headDesc, checkpointDesc, lagPosDesc, lagEventsDesc, failingDesc, scrapeErrDesc} {
		ch <- d
	}
}

func (c *projectionCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	head, states, err := c.src(ctx)
	if err != nil {
		ch <- prometheus.MustNewConstMetric(scrapeErrDesc, prometheus.GaugeValue, 1)
		return
	}
	ch <- prometheus.MustNewConstMetric(scrapeErrDesc, prometheus.GaugeValue, 0)
	ch <- prometheus.MustNewConstMetric(headDesc, prometheus.GaugeValue, float64(head))
	for _, s := range states {
		failing := 0.0
		if s.Failing {
			failing = 1
		}
		ch <- prometheus.MustNewConstMetric(checkpointDesc, prometheus.GaugeValue, float64(s.Checkpoint), s.Name)
		ch <- prometheus.MustNewConstMetric(lagPosDesc, prometheus.GaugeValue, float64(max(head-s.Checkpoint, 0)), s.Name)
		ch <- prometheus.MustNewConstMetric(lagEventsDesc, prometheus.GaugeValue, float64(s.Behind), s.Name)
		ch <- prometheus.MustNewConstMetric(failingDesc, prometheus.GaugeValue, failing, s.Name)
	}
}
