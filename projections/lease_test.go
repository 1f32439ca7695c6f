package projections_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/tellyou/tellyou/projections"
	"github.com/tellyou/tellyou/projections/projectiontest"
)

// leaders counts, per projection, the runners that lead it.
func leaders(runners ...*projections.Runner) map[string]int {
	out := map[string]int{}
	for _, r := range runners {
		for _, st := range r.Status() {
			if st.Leader {
				out[st.Name]++
			} else {
				out[st.Name] += 0
			}
		}
	}
	return out
}

func eachLedOnce(runners ...*projections.Runner) bool {
	for _, n := range leaders(runners...) {
		if n != 1 {
			return false
		}
	}
	return true
}

func TestLeasesLetOneRunnerLeadEachProjectionAndFailOver(t *testing.T) {
	t.Parallel()
	env := projectiontest.New(t)
	start := func() (*projections.Runner, func()) {
		r, err := projections.NewRunner(projections.RunnerConfig{Store: env.Store, Pool: env.Pool,
			Leases: true, LeaseRetry: 50 * time.Millisecond, RetryBackoff: 20 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		wg.Go(func() { _ = r.Run(ctx) })
		stop := func() { cancel(); wg.Wait() }
		t.Cleanup(stop)
		return r, stop
	}
	a, stopA := start()
	b, _ := start()
	waitUntil(t, 5*time.Second, "one leader per projection", func() bool { return eachLedOnce(a, b) })
	buildLog(t, env, 60, 1)
	env.WaitCaughtUp()
	if !eachLedOnce(a, b) {
		t.Fatalf("leaders after catching up: %v", leaders(a, b))
	}

	stopA()
	took := waitUntil(t, 5*time.Second, "b leading every projection", func() bool {
		for _, st := range b.Status() {
			if !st.Leader {
				return false
			}
		}
		return true
	})
	t.Logf("fail-over took %v", took)
	buildLog(t, env, 60, 2)
	env.WaitCaughtUp()
}

func waitUntil(t *testing.T, timeout time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > timeout {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return time.Since(start)
}
