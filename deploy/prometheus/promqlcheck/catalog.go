// Package promqlcheck checks PromQL expressions (alerting rules, dashboard
// panels) against the metrics a TellYou server exports, so that a renamed
// metric, a typo or a label the metric does not carry fails the tests
// instead of leaving an alert that can never fire or a panel that stays
// empty.
package promqlcheck

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/tellyou/tellyou/handlers/metrics"
)

// targetLabels are the labels Prometheus adds to every series it scrapes.
func targetLabels() []string { return []string{"instance", "job"} }

// family is one metric family a server exports.
type family struct {
	// kind is the family's type when a sample of it was gathered; a family
	// that was only described (a vector without children yet) has none.
	kind   dto.MetricType
	typed  bool
	labels map[string]bool
}

// Catalog is the set of metric families, with their labels, that a server
// exports. It is read-only once built and safe for concurrent use.
type Catalog struct {
	families map[string]*family
}

// ServerCatalog builds the catalog of the TellYou server's registry:
// everything metrics.New registers plus the projection gauges of
// RegisterProjections, as /metrics serves them.
func ServerCatalog() (*Catalog, error) {
	m := metrics.New()
	m.RegisterProjections(func(context.Context) (int64, []metrics.ProjectionState, error) {
		return 1, []metrics.ProjectionState{{Name: "history"}}, nil
	})
	return NewCatalog(m.Registry)
}

// NewCatalog lists the families reg describes, with their variable labels,
// and the type and labels of those it gathers samples of.
func NewCatalog(reg *prometheus.Registry) (*Catalog, error) {
	// A prometheus.Desc shows its name and variable labels only in its
	// String form.
	descName := regexp.MustCompile(`fqName: "([^"]+)"`)
	descLabels := regexp.MustCompile(`variableLabels: \{([^}]*)\}`)
	c := &Catalog{families: map[string]*family{}}
	descs := make(chan *prometheus.Desc)
	go func() { reg.Describe(descs); close(descs) }()
	for d := range descs {
		s := d.String()
		name := descName.FindStringSubmatch(s)
		if name == nil {
			return nil, fmt.Errorf("read metric description %s: no name", s)
		}
		f := c.family(name[1])
		if labels := descLabels.FindStringSubmatch(s); labels != nil && labels[1] != "" {
			for _, l := range strings.Split(labels[1], ",") {
				f.labels[strings.TrimSuffix(strings.TrimPrefix(l, "c("), ")")] = true
			}
		}
	}
	gathered, err := reg.Gather()
	if err != nil {
		return nil, fmt.Errorf("gather metrics: %w", err)
	}
	for _, mf := range gathered {
		f := c.family(mf.GetName())
		f.kind, f.typed = mf.GetType(), true
		for _, metric := range mf.GetMetric() {
			for _, lp := range metric.GetLabel() {
				f.labels[lp.GetName()] = true
			}
		}
	}
	return c, nil
}

func (c *Catalog) family(name string) *family {
	f, ok := c.families[name]
	if !ok {
		f = &family{labels: map[string]bool{}}
		c.families[name] = f
	}
	return f
}

// Has reports whether name is a series the server exports: a counter's,
// gauge's or summary's family name, a histogram's _bucket, _sum or _count, or
// a summary's _sum or _count.
func (c *Catalog) Has(name string) bool {
	_, ok := c.labelsOf(name)
	return ok
}

// labelsOf returns the labels a series called name may carry, besides the
// target labels; ok is false when the server exports no such series.
func (c *Catalog) labelsOf(name string) (labels map[string]bool, ok bool) {
	if f, found := c.families[name]; found {
		if f.typed && f.kind == dto.MetricType_HISTOGRAM {
			return nil, false // its series are _bucket, _sum and _count
		}
		labels = f.labels
		if f.typed && f.kind == dto.MetricType_SUMMARY {
			labels = with(labels, "quantile")
		}
		return labels, true
	}
	for _, suffix := range []string{"_bucket", "_sum", "_count"} {
		base, cut := strings.CutSuffix(name, suffix)
		if !cut {
			continue
		}
		f, found := c.families[base]
		if !found || !f.typed {
			return nil, false
		}
		switch {
		case f.kind == dto.MetricType_HISTOGRAM && suffix == "_bucket":
			return with(f.labels, "le"), true
		case f.kind == dto.MetricType_HISTOGRAM, f.kind == dto.MetricType_SUMMARY && suffix != "_bucket":
			return f.labels, true
		}
	}
	return nil, false
}

func with(labels map[string]bool, extra string) map[string]bool {
	out := make(map[string]bool, len(labels)+1)
	for l := range labels {
		out[l] = true
	}
	out[extra] = true
	return out
}
