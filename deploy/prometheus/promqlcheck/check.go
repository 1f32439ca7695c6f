package promqlcheck

import (
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"strings"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"
)

// Check parses expr as PromQL and checks every series selector in it: it
// must name its metric literally, the metric must be one the catalog holds,
// and every label it matches on must be one of the metric's labels, a target
// label (instance, job) or, for a histogram's _bucket series, le.
func (c *Catalog) Check(expr string) error {
	ast, err := parser.NewParser(parser.Options{}).ParseExpr(expr)
	if err != nil {
		return fmt.Errorf("parse %q: %w", expr, err)
	}
	var errs []error
	parser.Inspect(ast, func(node parser.Node, _ []parser.Node) error {
		if vs, ok := node.(*parser.VectorSelector); ok {
			if err := c.checkSelector(vs); err != nil {
				errs = append(errs, err)
			}
		}
		return nil
	})
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("in %q: %w", expr, err)
	}
	return nil
}

func (c *Catalog) checkSelector(vs *parser.VectorSelector) error {
	name := vs.Name
	for _, m := range vs.LabelMatchers {
		if m.Name == model.MetricNameLabel {
			if m.Type != labels.MatchEqual {
				return fmt.Errorf("selector %s: name the metric literally, not by %s", vs, m.Type)
			}
			name = m.Value
		}
	}
	if name == "" {
		return fmt.Errorf("selector %s names no metric", vs)
	}
	allowed, ok := c.labelsOf(name)
	if !ok {
		if f, found := c.families[name]; found && f.typed && f.kind == dto.MetricType_HISTOGRAM {
			return fmt.Errorf("unknown metric %s: it is a histogram, select %s_bucket, _sum or _count", name, name)
		}
		return fmt.Errorf("unknown metric %s: the server exports no such series", name)
	}
	var errs []error
	for _, m := range vs.LabelMatchers {
		if m.Name == model.MetricNameLabel || allowed[m.Name] || slices.Contains(targetLabels(), m.Name) {
			continue
		}
		errs = append(errs, fmt.Errorf("metric %s has no label %q (it has %s)", name, m.Name, labelList(allowed)))
	}
	return errors.Join(errs...)
}

func labelList(labels map[string]bool) string {
	names := append([]string(nil), targetLabels()...)
	for l := range labels {
		names = append(names, l)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

// CheckRuleFile parses a Prometheus rule file as Prometheus loads it
// (unknown fields refused, expressions and annotation templates parsed) and
// checks every rule's expression with Check. It returns every problem found,
// joined, or nil.
func (c *Catalog) CheckRuleFile(path string) error {
	groups, errs := rulefmt.ParseFile(path, false, model.LegacyValidation, parser.NewParser(parser.Options{}), slog.New(slog.DiscardHandler))
	if len(errs) > 0 {
		return fmt.Errorf("load rules: %w", errors.Join(errs...))
	}
	if len(groups.Groups) == 0 {
		return fmt.Errorf("load rules from %s: no rule groups", path)
	}
	for _, g := range groups.Groups {
		for _, r := range g.Rules {
			if err := c.Check(r.Expr); err != nil {
				errs = append(errs, fmt.Errorf("%s: group %s, rule %s: %w", path, g.Name, r.Alert+r.Record, err))
			}
		}
	}
	return errors.Join(errs...)
}
