package loadgen

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// step is one measurement of a run.
type step struct {
	Index     int     // from 1
	Rate      float64 // offered messages per second in total; 0: as fast as answers allow
	Users     int     // users connected for the step
	GroupSize int     // the group scenario's group; 0 in other scenarios
	// Fresh steps connect a new population (and create its group) first;
	// the others reuse the previous step's connections.
	Fresh bool
}

// plan lists the steps of the run c describes (after defaults).
func (c *Config) plan() []step {
	group := 0
	if c.Scenario == ScenarioGroup {
		group = c.GroupSize
	}
	switch {
	case len(c.GroupSizes) > 0:
		steps := make([]step, len(c.GroupSizes))
		for i, n := range c.GroupSizes {
			steps[i] = step{Index: i + 1, Rate: c.Rate, Users: n, GroupSize: n, Fresh: true}
		}
		return steps
	case len(c.Sweep) > 0:
		steps := make([]step, len(c.Sweep))
		for i, r := range c.Sweep {
			steps[i] = step{Index: i + 1, Rate: r, Users: c.Users, GroupSize: group, Fresh: i == 0}
		}
		return steps
	}
	return []step{{Index: 1, Rate: c.Rate, Users: c.Users, GroupSize: group, Fresh: true}}
}

// procsFor is the number of processes to hold the connections of steps.
func (c *Config) procsFor(steps []step) int {
	if c.Procs > 0 {
		return c.Procs
	}
	most := 0
	for _, s := range steps {
		most = max(most, s.Users*c.ConnsPerUser)
	}
	return max(1, (most+ConnsPerProcess-1)/ConnsPerProcess)
}

// pairScenario reports whether the scenario pairs users in direct sessions.
func pairScenario(scenario string) bool {
	return scenario == ScenarioDirect || scenario == ScenarioMixed || scenario == ScenarioReconnect
}

// userRanges splits users 0..n-1 into parts contiguous ranges [from, to) of
// nearly equal size; with pairs, on even boundaries, so that both users of a
// pair are in the same part. Parts may be empty when there are few users.
func userRanges(n, parts int, pairs bool) [][2]int {
	unit := 1
	if pairs {
		unit = 2
	}
	units := (n + unit - 1) / unit
	ranges := make([][2]int, parts)
	from := 0
	for i := range parts {
		size := units / parts
		if i < units%parts {
			size++
		}
		to := min(n, from+size*unit)
		ranges[i] = [2]int{from, to}
		from = to
	}
	return ranges
}

// shares splits a rate and a message budget over parts in proportion to
// their connections: a part with no connection gets nothing. Budgets are
// whole messages and add up to messages exactly.
func shares(rate float64, messages int64, conns []int) ([]float64, []int64) {
	total := 0
	for _, n := range conns {
		total += n
	}
	rates, budgets := make([]float64, len(conns)), make([]int64, len(conns))
	if total == 0 {
		return rates, budgets
	}
	var given int64
	for i, n := range conns {
		rates[i] = rate * float64(n) / float64(total)
		budgets[i] = messages * int64(n) / int64(total)
		given += budgets[i]
	}
	for i := 0; given < messages; i = (i + 1) % len(conns) {
		if conns[i] > 0 {
			budgets[i]++
			given++
		}
	}
	return rates, budgets
}

// ParseRates reads a sweep's offered rates: a comma-separated list of
// messages per second in total, "max" (or 0) for as fast as the server
// answers.
func ParseRates(s string) ([]float64, error) {
	var rates []float64
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "max" {
			rates = append(rates, 0)
			continue
		}
		r, err := strconv.ParseFloat(f, 64)
		if err != nil || r < 0 || math.IsNaN(r) || r > 1e9 {
			return nil, fmt.Errorf("rate %q: want messages per second or max", f)
		}
		rates = append(rates, r)
	}
	return rates, nil
}

// ParseSizes reads a comma-separated list of group sizes (at least 2 each).
func ParseSizes(s string) ([]int, error) {
	var sizes []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 2 {
			return nil, fmt.Errorf("group size %q: want a whole number of members, at least 2", f)
		}
		sizes = append(sizes, n)
	}
	return sizes, nil
}
