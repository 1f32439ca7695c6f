package grafana_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/tellyou/tellyou/deploy/prometheus/promqlcheck"
)

const dashboardFile = "tellyou-dashboard.json"

// dashboard is the part of Grafana's dashboard model the checks read.
type dashboard struct {
	UID           string  `json:"uid"`
	Title         string  `json:"title"`
	SchemaVersion int     `json:"schemaVersion"`
	Panels        []panel `json:"panels"`
	Templating    struct {
		List []variable `json:"list"`
	} `json:"templating"`
}

type panel struct {
	ID         int         `json:"id"`
	Type       string      `json:"type"`
	Title      string      `json:"title"`
	Datasource *datasource `json:"datasource"`
	Targets    []struct {
		RefID string `json:"refId"`
		Expr  string `json:"expr"`
	} `json:"targets"`
	// Panels are a collapsed row's panels.
	Panels []panel `json:"panels"`
}

type datasource struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

type variable struct {
	Name       string          `json:"name"`
	Type       string          `json:"type"`
	Query      json.RawMessage `json:"query"`
	Datasource *datasource     `json:"datasource"`
}

// allPanels flattens rows.
func (d dashboard) allPanels() []panel {
	var out []panel
	var walk func([]panel)
	walk = func(ps []panel) {
		for _, p := range ps {
			out = append(out, p)
			walk(p.Panels)
		}
	}
	walk(d.Panels)
	return out
}

// expand replaces Grafana's variables by what Prometheus would receive:
// intervals by a duration, the dashboard's own variables (used in label
// matchers) by a regular expression.
func expand(expr string) string {
	expr = regexp.MustCompile(`\$__(rate_interval|interval|range)\b`).ReplaceAllString(expr, "5m")
	return regexp.MustCompile(`\$\{\w+\}|\$\w+|\[\[\w+\]\]`).ReplaceAllString(expr, ".*")
}

// checkDashboard parses a dashboard and checks it: a Prometheus data-source
// variable that every panel uses, unique panel ids, and every query valid
// PromQL over metrics and labels the server exports.
func checkDashboard(raw []byte, c *promqlcheck.Catalog) (dashboard, error) {
	var d dashboard
	if err := json.Unmarshal(raw, &d); err != nil {
		return d, fmt.Errorf("parse dashboard: %w", err)
	}
	var errs []error
	if d.UID == "" || d.Title == "" {
		errs = append(errs, errors.New("dashboard has no uid or title"))
	}
	if d.SchemaVersion < 36 || d.SchemaVersion > 41 {
		errs = append(errs, fmt.Errorf("schemaVersion %d, want 36-41 (Grafana 9-11)", d.SchemaVersion))
	}
	dsVar := ""
	for _, v := range d.Templating.List {
		if v.Type != "datasource" {
			continue
		}
		var q string
		if err := json.Unmarshal(v.Query, &q); err != nil || q != "prometheus" {
			errs = append(errs, fmt.Errorf("data-source variable %s selects %s, want prometheus", v.Name, v.Query))
		}
		dsVar = "${" + v.Name + "}"
	}
	if dsVar == "" {
		errs = append(errs, errors.New("no data-source variable"))
	}
	for _, v := range d.Templating.List {
		switch v.Type {
		case "query":
			if v.Datasource == nil || v.Datasource.Type != "prometheus" || v.Datasource.UID != dsVar {
				errs = append(errs, fmt.Errorf("variable %s: datasource %+v, want prometheus %s", v.Name, v.Datasource, dsVar))
			}
			var q struct {
				Query string `json:"query"`
			}
			if err := json.Unmarshal(v.Query, &q); err != nil {
				errs = append(errs, fmt.Errorf("variable %s: query %s: %w", v.Name, v.Query, err))
				continue
			}
			m := regexp.MustCompile(`^label_values\((\w+),\s*(\w+)\)$`).FindStringSubmatch(q.Query)
			if m == nil {
				errs = append(errs, fmt.Errorf("variable %s: query %q is not label_values(metric, label)", v.Name, q.Query))
			} else if err := c.Check(m[1] + "{" + m[2] + `=~".+"}`); err != nil {
				errs = append(errs, fmt.Errorf("variable %s: %w", v.Name, err))
			}
		}
	}
	ids := map[int]string{}
	for _, p := range d.allPanels() {
		if other, dup := ids[p.ID]; dup {
			errs = append(errs, fmt.Errorf("panels %q and %q share id %d", other, p.Title, p.ID))
		}
		ids[p.ID] = p.Title
		if p.Type == "row" {
			continue
		}
		if p.Datasource == nil || p.Datasource.Type != "prometheus" || p.Datasource.UID != dsVar {
			errs = append(errs, fmt.Errorf("panel %q: datasource %+v, want prometheus %s", p.Title, p.Datasource, dsVar))
		}
		if len(p.Targets) == 0 {
			errs = append(errs, fmt.Errorf("panel %q has no query", p.Title))
		}
		for _, tg := range p.Targets {
			if err := c.Check(expand(tg.Expr)); err != nil {
				errs = append(errs, fmt.Errorf("panel %q, query %s: %w", p.Title, tg.RefID, err))
			}
		}
	}
	return d, errors.Join(errs...)
}

func serverCatalog(t *testing.T) *promqlcheck.Catalog {
	t.Helper()
	c, err := promqlcheck.ServerCatalog()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestDashboardQueriesCheck(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	d, err := checkDashboard(raw, serverCatalog(t))
	if err != nil {
		t.Fatal(err)
	}
	// The dashboard shows what operators look at first.
	var exprs []string
	for _, p := range d.allPanels() {
		for _, tg := range p.Targets {
			exprs = append(exprs, tg.Expr)
		}
	}
	all := strings.Join(exprs, "\n")
	for _, metric := range []string{
		"tellyou_messages_sent_total", "tellyou_send_ack_latency_seconds_bucket", "tellyou_push_latency_seconds_bucket",
		"tellyou_connected_clients", "tellyou_projection_lag_events", "tellyou_dead_letters_total",
		"tellyou_rate_limited_total", "tellyou_redeliveries_total", "tellyou_http_requests_total",
		"tellyou_event_store_append_seconds_bucket", "go_memstats_heap_inuse_bytes", "go_goroutines",
	} {
		if !strings.Contains(all, metric) {
			t.Errorf("no panel shows %s", metric)
		}
	}
}

// TestDashboardCheckReportsBrokenQueries proves the check can fail: it
// breaks a copy of the dashboard one way at a time.
func TestDashboardCheckReportsBrokenQueries(t *testing.T) {
	t.Parallel()
	c := serverCatalog(t)
	original, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ name, old, new, want string }{
		{"unknown metric", "tellyou_redeliveries_total", "tellyou_redelivered_total", "unknown metric tellyou_redelivered_total"},
		{"syntax error", "sum by (code) (rate(", "sum by (code) (rate((", "parse"},
		{"label the metric does not carry", "(tellyou_projection_failing{instance", "(tellyou_projection_failing{node", `no label "node"`},
		{"variable outside a string", `go_goroutines{instance=~\"$instance\"}`, `go_goroutines{instance=~$instance}`, "parse"},
		{"unknown metric in a variable", "label_values(tellyou_connected_clients, instance)\"", "label_values(tellyou_clients, instance)\"", "unknown metric tellyou_clients"},
		{"query without the data-source variable", `"uid": "${datasource}"`, `"uid": "P1809F7CD0C75ACF3"`, "want prometheus ${datasource}"},
		{"invalid JSON", `"panels": [`, `"panels": [,`, "parse dashboard"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if !strings.Contains(string(original), tc.old) {
				t.Fatalf("%s no longer contains %q; pick another place to break", dashboardFile, tc.old)
			}
			_, err := checkDashboard([]byte(strings.Replace(string(original), tc.old, tc.new, 1)), c)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("check of the broken copy: %v; want an error mentioning %q", err, tc.want)
			}
		})
	}
}
