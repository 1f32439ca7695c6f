package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/tellyou/tellyou/events"
	"github.com/tellyou/tellyou/handlers/metrics"
	"github.com/tellyou/tellyou/projections"
)

// readiness decides /readyz: the event store answers, no projection is failing,
// and no projection this node runs (holds the lease of) has stayed behind a
// log head it was shown for longer than maxLag. Another node runs the others;
// this one's view of their checkpoints is only refreshed while it stands by.
type readiness struct {
	store  events.Store
	runner *projections.Runner
	maxLag time.Duration
	now    func() time.Time
	mu     sync.Mutex
	behind map[string]behindSince
}

// behindSince is a log head a projection had not reached, and when that was
// first seen.
type behindSince struct {
	head  events.Position
	since time.Time
}

func newReadiness(store events.Store, runner *projections.Runner, maxLag time.Duration, now func() time.Time) *readiness {
	return &readiness{store: store, runner: runner, maxLag: maxLag, now: now, behind: map[string]behindSince{}}
}

// Check returns nil when the node is ready to serve, or why not.
func (r *readiness) Check(ctx context.Context) error {
	head, err := r.store.Head(ctx)
	if err != nil {
		return fmt.Errorf("event store unreachable: %w", err)
	}
	now := r.now()
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, st := range r.runner.Status() {
		if st.Failing {
			return fmt.Errorf("projection %s is failing: %s", st.Name, st.LastError)
		}
		if !st.Leader || st.Position >= head {
			delete(r.behind, st.Name)
			continue
		}
		b, seen := r.behind[st.Name]
		if !seen || st.Position >= b.head {
			r.behind[st.Name] = behindSince{head: head, since: now}
			continue
		}
		if now.Sub(b.since) > r.maxLag {
			return fmt.Errorf("projection %s has been behind the log for more than %v", st.Name, r.maxLag)
		}
	}
	return nil
}

// lagCap bounds the events counted behind a checkpoint at each scrape.
const lagCap = 1000

// projectionSource feeds the projection lag metrics.
func projectionSource(store events.Store, runner *projections.Runner) metrics.ProjectionSource {
	return func(ctx context.Context) (int64, []metrics.ProjectionState, error) {
		head, err := store.Head(ctx)
		if err != nil {
			return 0, nil, err
		}
		var states []metrics.ProjectionState
		for _, st := range runner.Status() {
			behind := int64(0)
			if st.Position < head {
				recs, err := store.ReadAll(ctx, st.Position, lagCap)
				if err != nil {
					return 0, nil, err
				}
				behind = int64(len(recs))
			}
			states = append(states, metrics.ProjectionState{Name: st.Name, Checkpoint: int64(st.Position), Behind: behind, Failing: st.Failing})
		}
		return int64(head), states, nil
	}
}
