package projections_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tellyou/tellyou/events"
	"github.com/tellyou/tellyou/projections"
	"github.com/tellyou/tellyou/projections/projectiontest"
)

// lostDatabase stands for the database going away under a projection: its
// first subscriptions fail as a dropped connection does.
type lostDatabase struct {
	events.Store
	failures atomic.Int32
}

func (l *lostDatabase) Subscribe(ctx context.Context, after events.Position, batchSize int,
	handle func(context.Context, []events.RecordedEvent) error) error {
	if l.failures.Add(-1) >= 0 {
		return errors.New("read all after position 0: unexpected EOF")
	}
	return l.Store.Subscribe(ctx, after, batchSize, handle)
}

// TestProjectionRecoversFromALostDatabaseWithNothingNewToApply: a failure that
// concerned no event ends when the database answers again, even if no event
// follows to commit: a quiet node must not stay unready after an outage.
func TestProjectionRecoversFromALostDatabaseWithNothingNewToApply(t *testing.T) {
	t.Parallel()
	env := projectiontest.New(t)
	g := env.CreateGroup("team", "alice", "bob")
	g.Send("alice", "1")
	env.StartRunner(projections.RunnerConfig{})
	env.WaitCaughtUp()
	caughtUp := env.Checkpoint(projections.HistoryName)

	store := &lostDatabase{Store: env.Store}
	store.failures.Store(3)
	failures := &failureCounts{}
	r := env.StartRunner(projections.RunnerConfig{Store: store, Projections: []projections.Projection{projections.History()},
		RetryBackoff: 10 * time.Millisecond, OnFailure: failures.add})
	waitFor(t, "the failures", func() bool { return failures.count(projections.HistoryName) == 3 })
	waitFor(t, "history to recover with no new event", func() bool { return !statusOf(r, projections.HistoryName).Failing })
	if st := statusOf(r, projections.HistoryName); int64(st.Position) != caughtUp || st.LastError == "" {
		t.Fatalf("status %+v, want at %d with the last error kept", st, caughtUp)
	}
	g.Send("bob", "2")
	env.WaitCaughtUp(projections.HistoryName)
}
