package loadgen

import (
	"reflect"
	"testing"
	"time"
)

func TestPlanMakesOneStepPerRateOrGroupSize(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cfg  Config
		want []step
	}{
		{"one step", Config{Scenario: ScenarioDirect, Users: 10, Rate: 50},
			[]step{{Index: 1, Rate: 50, Users: 10, Fresh: true}}},
		{"a sweep reuses its connections", Config{Scenario: ScenarioDirect, Users: 1000, Sweep: []float64{500, 1000, 0}},
			[]step{{Index: 1, Rate: 500, Users: 1000, Fresh: true}, {Index: 2, Rate: 1000, Users: 1000}, {Index: 3, Rate: 0, Users: 1000}}},
		{"a sweep of a group", Config{Scenario: ScenarioGroup, GroupSize: 50, Sweep: []float64{10, 20}},
			[]step{{Index: 1, Rate: 10, Users: 50, GroupSize: 50, Fresh: true}, {Index: 2, Rate: 20, Users: 50, GroupSize: 50}}},
		{"fan-out: a new group per size", Config{Scenario: ScenarioGroup, GroupSizes: []int{10, 2000}, Rate: 40},
			[]step{{Index: 1, Rate: 40, Users: 10, GroupSize: 10, Fresh: true}, {Index: 2, Rate: 40, Users: 2000, GroupSize: 2000, Fresh: true}}},
		{"idle", Config{Scenario: ScenarioIdle, Users: 18000},
			[]step{{Index: 1, Users: 18000, Fresh: true}}},
	}
	for _, tt := range tests {
		cfg := tt.cfg
		cfg.setDefaults()
		if got := cfg.plan(); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: plan = %+v, want %+v", tt.name, got, tt.want)
		}
	}
}

func TestProcsSpreadManyConnections(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		cfg  Config
		want int
	}{
		{Config{Scenario: ScenarioIdle, Users: 9000}, 1},
		{Config{Scenario: ScenarioIdle, Users: ConnsPerProcess}, 1},
		{Config{Scenario: ScenarioIdle, Users: 18000}, 2},
		{Config{Scenario: ScenarioDirect, Users: 10000, ConnsPerUser: 4}, 3},
		{Config{Scenario: ScenarioGroup, GroupSizes: []int{10, 100, 20000}}, 2},
		{Config{Scenario: ScenarioDirect, Users: 10, Procs: 3}, 3},
	} {
		cfg := tt.cfg
		cfg.setDefaults()
		if got := cfg.procsFor(cfg.plan()); got != tt.want {
			t.Errorf("%+v: %d procs, want %d", tt.cfg, got, tt.want)
		}
	}
}

func TestUserRangesKeepPairsTogether(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		n, parts int
		pairs    bool
		want     [][2]int
	}{
		{1000, 1, true, [][2]int{{0, 1000}}},
		{1000, 3, true, [][2]int{{0, 334}, {334, 668}, {668, 1000}}},
		{10, 4, true, [][2]int{{0, 4}, {4, 6}, {6, 8}, {8, 10}}},
		{2, 3, true, [][2]int{{0, 2}, {2, 2}, {2, 2}}},
		{18000, 2, false, [][2]int{{0, 9000}, {9000, 18000}}},
		{7, 3, false, [][2]int{{0, 3}, {3, 5}, {5, 7}}},
	} {
		if got := userRanges(tt.n, tt.parts, tt.pairs); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("userRanges(%d, %d, %v) = %v, want %v", tt.n, tt.parts, tt.pairs, got, tt.want)
		}
	}
}

func TestSharesFollowTheConnections(t *testing.T) {
	t.Parallel()
	rates, budgets := shares(1000, 101, []int{300, 100, 0, 100})
	if want := []float64{600, 200, 0, 200}; !reflect.DeepEqual(rates, want) {
		t.Errorf("rates %v, want %v", rates, want)
	}
	var sum int64
	for _, b := range budgets {
		sum += b
	}
	if sum != 101 || budgets[2] != 0 || budgets[0] < 60 {
		t.Errorf("budgets %v: want 101 in all, none for the part without connections", budgets)
	}
	if rates, budgets := shares(5, 0, []int{0, 0}); rates[0] != 0 || budgets[1] != 0 {
		t.Errorf("no connections: %v %v", rates, budgets)
	}
}

func TestParseRatesAndSizes(t *testing.T) {
	t.Parallel()
	rates, err := ParseRates("500, 1000,2000,4000,8000,max")
	if want := []float64{500, 1000, 2000, 4000, 8000, 0}; err != nil || !reflect.DeepEqual(rates, want) {
		t.Errorf("ParseRates = %v, %v; want %v", rates, err, want)
	}
	for _, bad := range []string{"", "fast", "-1", "100,,200", "NaN", "1e12"} {
		if _, err := ParseRates(bad); err == nil {
			t.Errorf("ParseRates(%q) accepted", bad)
		}
	}
	sizes, err := ParseSizes("10,100,500,2000,10000")
	if want := []int{10, 100, 500, 2000, 10000}; err != nil || !reflect.DeepEqual(sizes, want) {
		t.Errorf("ParseSizes = %v, %v; want %v", sizes, err, want)
	}
	for _, bad := range []string{"", "1", "ten", "10,0"} {
		if _, err := ParseSizes(bad); err == nil {
			t.Errorf("ParseSizes(%q) accepted", bad)
		}
	}
}

func TestIdleNeedsLittleCPUAndNoArrivals(t *testing.T) {
	t.Parallel()
	w := 2 * time.Second
	for _, tt := range []struct {
		cpu      float64
		arrivals int64
		want     bool
	}{
		{0.05, 0, true},
		{0.19, 0, true},
		{0.25, 0, false},
		{1.5, 0, false},
		{0, 3, false},
	} {
		if got := idle(serverSample{cpu: 10}, serverSample{cpu: 10 + tt.cpu}, w, tt.arrivals); got != tt.want {
			t.Errorf("%.2f CPU seconds and %d arrivals in %s: idle %v, want %v", tt.cpu, tt.arrivals, w, got, tt.want)
		}
	}
}

func TestMemberChunksStayUnderTheLimit(t *testing.T) {
	t.Parallel()
	var members []string
	for i := range 10000 {
		members = append(members, "b1a2b3c-"+string(rune('0'+i%10))+"xxxx")
	}
	chunks := memberChunks(members, memberChunkBytes)
	n := 0
	for _, c := range chunks {
		size := 0
		for _, m := range c {
			size += len(m) + 3
		}
		if size > memberChunkBytes || len(c) == 0 {
			t.Fatalf("a chunk of %d members takes %d bytes, over %d", len(c), size, memberChunkBytes)
		}
		n += len(c)
	}
	if n != len(members) || len(chunks) < 2 {
		t.Errorf("%d chunks hold %d members, want all %d in several", len(chunks), n, len(members))
	}
	if got := memberChunks([]string{"a-very-long-name"}, 4); len(got) != 1 || len(got[0]) != 1 {
		t.Errorf("one name over the limit: %v, want it alone in a chunk", got)
	}
}
