package lease_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tellyou/tellyou/events/pgstore/pgtest"
	"github.com/tellyou/tellyou/projections/lease"
)

// Two processes' holders of one lease never work at the same time, and the
// second takes over when the first stops; a lease of another key is
// independent.
func TestOneHolderWorksAtATimeAndAnotherTakesOver(t *testing.T) {
	t.Parallel()
	pool := pgtest.NewPool(t)
	var working, overlaps, turns atomic.Int32
	work := func(ctx context.Context) {
		if working.Add(1) > 1 {
			overlaps.Add(1)
		}
		turns.Add(1)
		<-ctx.Done()
		working.Add(-1)
	}
	cfg := lease.Config{Pool: pool, Key: "tellyou.test.lease:a", Retry: 20 * time.Millisecond}
	firstCtx, stopFirst := context.WithCancel(t.Context())
	secondCtx, stopSecond := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	wg.Go(func() { lease.Hold(firstCtx, cfg, work) })
	waitFor(t, func() bool { return turns.Load() == 1 })
	var taken atomic.Bool
	second := cfg
	second.Taken = func() { taken.Store(true) }
	wg.Go(func() { lease.Hold(secondCtx, second, work) })

	// Another key is not held back by the first.
	otherCtx, stopOther := context.WithCancel(t.Context())
	var otherWorked atomic.Bool
	wg.Go(func() {
		lease.Hold(otherCtx, lease.Config{Pool: pool, Key: "tellyou.test.lease:b", Retry: 20 * time.Millisecond},
			func(ctx context.Context) { otherWorked.Store(true); <-ctx.Done() })
	})
	waitFor(t, otherWorked.Load)

	time.Sleep(200 * time.Millisecond) // the second tries several times meanwhile
	if taken.Load() {
		t.Fatal("the second holder took a lease the first holds")
	}
	stopFirst()
	waitFor(t, taken.Load)
	waitFor(t, func() bool { return turns.Load() == 2 })
	stopSecond()
	stopOther()
	wg.Wait()
	if overlaps.Load() != 0 {
		t.Fatalf("%d times two holders worked at once", overlaps.Load())
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 30s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
