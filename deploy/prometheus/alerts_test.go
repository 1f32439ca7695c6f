package prometheus_test

import (
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"
	"go.yaml.in/yaml/v3"

	"github.com/tellyou/tellyou/deploy/prometheus/promqlcheck"
)

const rulesFile = "alerts.yml"

func serverCatalog(t *testing.T) *promqlcheck.Catalog {
	t.Helper()
	c, err := promqlcheck.ServerCatalog()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func loadRules(t *testing.T) *rulefmt.RuleGroups {
	t.Helper()
	groups, errs := rulefmt.ParseFile(rulesFile, false, model.LegacyValidation, parser.NewParser(parser.Options{}), slog.New(slog.DiscardHandler))
	if len(errs) > 0 {
		t.Fatalf("load %s: %v", rulesFile, errs)
	}
	return groups
}

// TestAlertRulesCheck loads alerts.yml as Prometheus does and checks every
// expression against the metrics the server exports.
func TestAlertRulesCheck(t *testing.T) {
	t.Parallel()
	if err := serverCatalog(t).CheckRuleFile(rulesFile); err != nil {
		t.Fatal(err)
	}
}

// TestAlertRulesAreLabelledAndDescribed holds every alert to what the
// receivers rely on: a unique name, a severity they route on, a summary and a
// description.
func TestAlertRulesAreLabelledAndDescribed(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for _, g := range loadRules(t).Groups {
		for _, r := range g.Rules {
			if r.Alert == "" {
				t.Errorf("group %s: recording rule %s; this file holds alerts only", g.Name, r.Record)
				continue
			}
			if seen[r.Alert] {
				t.Errorf("alert %s defined twice", r.Alert)
			}
			seen[r.Alert] = true
			if s := r.Labels["severity"]; s != "warning" && s != "critical" {
				t.Errorf("alert %s: severity %q, want warning or critical", r.Alert, s)
			}
			for _, a := range []string{"summary", "description"} {
				if strings.TrimSpace(r.Annotations[a]) == "" {
					t.Errorf("alert %s has no %s annotation", r.Alert, a)
				}
			}
		}
	}
	if len(seen) == 0 {
		t.Fatal("no alerts")
	}
}

// TestAlertRulesCoverTheOperationalSignals fails when the rules stop
// watching one of the signals operators depend on.
func TestAlertRulesCoverTheOperationalSignals(t *testing.T) {
	t.Parallel()
	var exprs []string
	for _, g := range loadRules(t).Groups {
		for _, r := range g.Rules {
			exprs = append(exprs, r.Expr)
		}
	}
	watched := func(metric string) bool {
		return slices.ContainsFunc(exprs, func(e string) bool { return strings.Contains(e, metric) })
	}
	for _, metric := range []string{
		"tellyou_push_latency_seconds_bucket",       // processing delay
		"tellyou_send_ack_latency_seconds_bucket",   // send-ack latency
		"tellyou_event_store_append_seconds_bucket", // append latency
		"tellyou_projection_lag_events",             // projection backlog
		"tellyou_projection_checkpoint_position",    // projection stalled
		"tellyou_projection_failing",                // projection failing
		"tellyou_dead_letters_total",                // dead letters
		"tellyou_http_requests_total",               // HTTP 5xx ratio
		"tellyou_frame_errors_total",                // frame errors
		"tellyou_event_store_errors_total",          // store failures
		"tellyou_rate_limited_total",                // rate-limited spikes
		"tellyou_slow_clients_closed_total",         // slow clients closed
		"tellyou_redeliveries_total",                // redeliveries
	} {
		if !watched(metric) {
			t.Errorf("no alert watches %s", metric)
		}
	}
}

// TestRuleCheckReportsBrokenRules proves the check can fail: it copies
// alerts.yml, breaks it one way at a time and expects the checker to say so.
func TestRuleCheckReportsBrokenRules(t *testing.T) {
	t.Parallel()
	c := serverCatalog(t)
	original, err := os.ReadFile(rulesFile)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, old, new, want string
	}{
		{"syntax error in an expression",
			"rate(tellyou_push_latency_seconds_bucket[5m])", "rate(tellyou_push_latency_seconds_bucket[5m]",
			"could not parse expression"},
		{"unknown metric",
			"increase(tellyou_dead_letters_total[10m])", "increase(tellyou_dead_leters_total[10m])",
			"unknown metric tellyou_dead_leters_total"},
		{"renamed histogram series",
			"tellyou_send_ack_latency_seconds_bucket", "tellyou_send_ack_seconds_bucket",
			"unknown metric tellyou_send_ack_seconds_bucket"},
		{"label the metric does not carry",
			`tellyou_event_store_errors_total{reason="error"}`, `tellyou_event_store_errors_total{kind="error"}`,
			`no label "kind"`},
		{"broken annotation template",
			"{{ $value | humanizeDuration }} for 10 minutes", "{{ $value | nosuchfunction }} for 10 minutes",
			"nosuchfunction"},
		{"invalid duration",
			"for: 10m", "for: ten minutes",
			"ten minutes"},
		{"unknown field",
			"    rules:\n", "    rulez:\n",
			"rulez"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if !strings.Contains(string(original), tc.old) {
				t.Fatalf("%s no longer contains %q; pick another rule to break", rulesFile, tc.old)
			}
			broken := filepath.Join(t.TempDir(), rulesFile)
			if err := os.WriteFile(broken, []byte(strings.Replace(string(original), tc.old, tc.new, 1)), 0o600); err != nil {
				t.Fatal(err)
			}
			err := c.CheckRuleFile(broken)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("check of the broken copy: %v; want an error mentioning %q", err, tc.want)
			}
		})
	}
}

// TestScrapeConfigMatchesTheRules checks the example prometheus.yml: it
// loads alerts.yml from beside it and scrapes /metrics under the job name
// the rules expect.
func TestScrapeConfigMatchesTheRules(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile("prometheus.yml")
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		RuleFiles     []string `yaml:"rule_files"`
		ScrapeConfigs []struct {
			JobName       string `yaml:"job_name"`
			MetricsPath   string `yaml:"metrics_path"`
			StaticConfigs []struct {
				Targets []string `yaml:"targets"`
			} `yaml:"static_configs"`
		} `yaml:"scrape_configs"`
	}
	if err := yaml.Unmarshal(raw, &cfg); err != nil {
		t.Fatalf("prometheus.yml: %v", err)
	}
	if !slices.Contains(cfg.RuleFiles, rulesFile) {
		t.Errorf("rule_files %v does not load %s", cfg.RuleFiles, rulesFile)
	}
	rules, err := os.ReadFile(rulesFile)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, sc := range cfg.ScrapeConfigs {
		if sc.JobName != "tellyou" {
			continue
		}
		found = true
		if sc.MetricsPath != "/metrics" {
			t.Errorf("job tellyou scrapes %q, want /metrics (handlers/transport/httpapi)", sc.MetricsPath)
		}
		if len(sc.StaticConfigs) == 0 || len(sc.StaticConfigs[0].Targets) == 0 {
			t.Error("job tellyou has no targets")
		}
	}
	if !found {
		t.Fatal(`prometheus.yml has no job "tellyou"`)
	}
	if !strings.Contains(string(rules), `job="tellyou"`) {
		t.Errorf(`%s no longer selects job="tellyou"; keep it and prometheus.yml in step`, rulesFile)
	}
}
