package promqlcheck_test

import (
	"strings"
	"testing"

	"github.com/tellyou/tellyou/deploy/prometheus/promqlcheck"
)

func serverCatalog(t *testing.T) *promqlcheck.Catalog {
	t.Helper()
	c, err := promqlcheck.ServerCatalog()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestServerCatalogHoldsTheServersSeries(t *testing.T) {
	t.Parallel()
	c := serverCatalog(t)
	for _, name := range []string{
		"tellyou_messages_sent_total",
		"tellyou_http_requests_total",             // a vector with no series yet
		"tellyou_send_ack_latency_seconds_bucket", // a histogram's series
		"tellyou_event_store_append_seconds_count",
		"tellyou_event_store_read_seconds_sum",
		"tellyou_projection_lag_events", // RegisterProjections' gauges
		"tellyou_log_head_position",
		"go_goroutines", "go_memstats_heap_inuse_bytes", "process_resident_memory_bytes",
		"go_gc_duration_seconds_count", // a summary's series
	} {
		if !c.Has(name) {
			t.Errorf("catalog lacks %s", name)
		}
	}
	for _, name := range []string{
		"tellyou_messages_sent", "tellyou_messages_sent_total_count", "tellyou_dead_letters_total_bucket",
		"go_gc_duration_seconds_bucket", "up", "tellyou_connected_clients_sum",
	} {
		if c.Has(name) {
			t.Errorf("catalog has %s, which the server does not export", name)
		}
	}
}

func TestCheck(t *testing.T) {
	t.Parallel()
	c := serverCatalog(t)
	valid := []string{
		`sum by (instance) (rate(tellyou_messages_sent_total[5m]))`,
		`histogram_quantile(0.99, sum by (le) (rate(tellyou_push_latency_seconds_bucket{instance=~".+"}[5m])))`,
		`sum(rate(tellyou_http_requests_total{code=~"5..", route!="GET /metrics", job="tellyou"}[5m]))`,
		`tellyou_event_store_errors_total{operation="append", reason="conflict"}`,
		`{__name__="tellyou_projection_failing", projection="history"} == 1`,
		`go_gc_duration_seconds{quantile="0.5"}`,
		`absent(tellyou_connected_clients)`,
		`vector(1)`,
	}
	for _, expr := range valid {
		if err := c.Check(expr); err != nil {
			t.Errorf("Check(%s) = %v, want nil", expr, err)
		}
	}
	invalid := []struct{ expr, want string }{
		{`rate(tellyou_messages_sent_total[5m]`, "parse"},
		{`sum(rate(tellyou_mesages_sent_total[5m]))`, "unknown metric tellyou_mesages_sent_total"},
		{`rate(tellyou_http_requests_total{status="500"}[5m])`, `no label "status"`},
		{`tellyou_connected_clients{le="1"}`, `no label "le"`},
		{`tellyou_push_latency_seconds`, "unknown metric tellyou_push_latency_seconds"},
		{`{__name__=~"tellyou_.*"}`, "name the metric literally"},
		{`up == 0`, "unknown metric up"},
		{`tellyou_redeliveries_total + on() tellyou_dead_leters_total`, "unknown metric tellyou_dead_leters_total"},
	}
	for _, tc := range invalid {
		err := c.Check(tc.expr)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Check(%s) = %v, want an error saying %q", tc.expr, err, tc.want)
		}
	}
}
