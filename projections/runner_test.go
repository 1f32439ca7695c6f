package projections_test

import (
	"context"
	"sync"
	"testing"

	"github.com/tellyou/tellyou/events"
	"github.com/tellyou/tellyou/projections"
	"github.com/tellyou/tellyou/projections/projectiontest"
)

func TestRunnersShareCheckpointsExactlyOnce(t *testing.T) {
	t.Parallel()
	env := projectiontest.New(t)
	createCountingTable(t, env)
	buildLog(t, env, 300, 1)
	all := append(projections.All(), countingProjection{})

	// Two runners (as two processes would) start from the same checkpoints
	// at once with small, different batch sizes: every event is delivered to
	// both, in overlapping batches.
	env.StartRunner(projections.RunnerConfig{Projections: all, BatchSize: 7})
	env.StartRunner(projections.RunnerConfig{Projections: all, BatchSize: 11})
	env.WaitCaughtUp(projections.HistoryName, projections.SessionsName, "counting")
	assertAppliedOnce(t, env)

	// More events while both run, then a third runner late, from the stored
	// checkpoints.
	buildLog(t, env, 100, 2)
	env.StartRunner(projections.RunnerConfig{Projections: all, BatchSize: 500})
	buildLog(t, env, 100, 3)
	env.WaitCaughtUp(projections.HistoryName, projections.SessionsName, "counting")
	assertAppliedOnce(t, env)

	// The same answers as one runner over a copy of the log.
	fresh := projectiontest.New(t)
	fresh.CopyLog(env.Store)
	fresh.StartRunner(projections.RunnerConfig{})
	fresh.WaitCaughtUp()
	if got, want := env.Dump(), fresh.Dump(); got != want {
		t.Errorf("read models of concurrent runners differ from one runner's:\n%s\nwant:\n%s", got, want)
	}
}

func assertAppliedOnce(t *testing.T, env *projectiontest.Env) {
	t.Helper()
	var rows, events, maxN int64
	if err := env.Pool.QueryRow(ctx, `SELECT count(*), max(n) FROM test_applied`).Scan(&rows, &maxN); err != nil {
		t.Fatal(err)
	}
	if err := env.Pool.QueryRow(ctx, `SELECT count(*) FROM tellyou_events`).Scan(&events); err != nil {
		t.Fatal(err)
	}
	if rows != events || maxN != 1 {
		t.Errorf("%d events applied (some up to %d times), want each of %d once", rows, maxN, events)
	}
}

func TestRunnerResumesFromItsCheckpoint(t *testing.T) {
	t.Parallel()
	env := projectiontest.New(t)
	createCountingTable(t, env)
	ps := []projections.Projection{countingProjection{}}
	buildLog(t, env, 50, 4)

	r, err := projections.NewRunner(projections.RunnerConfig{Store: env.Store, Pool: env.Pool, Projections: ps})
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { _ = r.Run(runCtx) })
	env.WaitCaughtUp("counting")
	// The checkpoint is visible in the database a moment before the
	// runner has its commit's answer: wait for the runner too.
	waitFor(t, "the runner's status to reach the checkpoint", func() bool {
		return r.Status()[0].Position == env.LastAppended()
	})
	if err := r.Run(runCtx); err == nil {
		t.Error("a second concurrent Run of one runner succeeded")
	}
	stop()
	wg.Wait()
	st := r.Status()[0]
	if st.Name != "counting" || st.Position != env.LastAppended() || st.Failing || st.LastError != "" {
		t.Errorf("status after run = %+v, want counting at %d, healthy", st, env.LastAppended())
	}

	buildLog(t, env, 50, 5)
	runCtx, stop = context.WithCancel(ctx)
	wg.Go(func() { _ = r.Run(runCtx) }) // the same runner again
	env.WaitCaughtUp("counting")
	stop()
	wg.Wait()
	assertAppliedOnce(t, env)
}

func TestRunnerFollowsACheckpointMovedBack(t *testing.T) {
	t.Parallel()
	env := projectiontest.New(t)
	createCountingTable(t, env)
	buildLog(t, env, 40, 10)
	env.StartRunner(projections.RunnerConfig{Projections: []projections.Projection{countingProjection{}}})
	env.WaitCaughtUp("counting")
	// An operator resets the projection under the running runner: it must
	// start again from the stored checkpoint, not go on from where it was.
	if _, err := env.Pool.Exec(ctx, `BEGIN; SELECT position FROM rm_checkpoints WHERE name = 'counting' FOR UPDATE;
		TRUNCATE test_applied; UPDATE rm_checkpoints SET position = 0 WHERE name = 'counting'; COMMIT`); err != nil {
		t.Fatal(err)
	}
	buildLog(t, env, 20, 11)
	env.WaitCaughtUp("counting")
	assertAppliedOnce(t, env)
}

func TestLagIsHeadMinusCheckpoint(t *testing.T) {
	t.Parallel()
	env := projectiontest.New(t)
	buildLog(t, env, 30, 6)
	// The head covers only events whose place is final; transactions of
	// other tests on the server may hold it back for a moment.
	env.WaitHead()
	lag, err := projections.Lag(ctx, env.Store, env.Pool)
	if err != nil {
		t.Fatal(err)
	}
	if lag[projections.HistoryName] <= 0 || lag[projections.SessionsName] <= 0 || lag[projections.SearchName] <= 0 || len(lag) != 3 {
		t.Errorf("lag before any runner = %v, want each positive", lag)
	}
	env.StartRunner(projections.RunnerConfig{})
	env.WaitCaughtUp()
	waitFor(t, "zero lag", func() bool {
		lag, err := projections.Lag(ctx, env.Store, env.Pool, projections.History())
		return err == nil && lag[projections.HistoryName] == 0 && len(lag) == 1
	})
}

func TestRunnerConfig(t *testing.T) {
	t.Parallel()
	env := projectiontest.New(t)
	for _, tc := range []struct {
		name string
		cfg  projections.RunnerConfig
	}{
		{"no store", projections.RunnerConfig{Pool: env.Pool}},
		{"no pool", projections.RunnerConfig{Store: env.Store}},
		{"nil projection", projections.RunnerConfig{Store: env.Store, Pool: env.Pool, Projections: []projections.Projection{nil}}},
		{"duplicate names", projections.RunnerConfig{Store: env.Store, Pool: env.Pool,
			Projections: []projections.Projection{projections.History(), projections.History()}}},
	} {
		if _, err := projections.NewRunner(tc.cfg); err == nil {
			t.Errorf("%s: NewRunner accepted it", tc.name)
		}
	}
	r, err := projections.NewRunner(projections.RunnerConfig{Store: env.Store, Pool: env.Pool})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range r.Status() {
		names = append(names, s.Name)
	}
	if len(names) != 3 || names[0] != projections.HistoryName || names[1] != projections.SessionsName || names[2] != projections.SearchName {
		t.Errorf("default projections %v", names)
	}
	if _, err := projections.Named("nope"); err == nil {
		t.Error(`Named("nope") found something`)
	}
	var _ events.Position = r.Status()[0].Position
}
