package projections_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tellyou/tellyou/projections"
	"github.com/tellyou/tellyou/projections/projectiontest"
)

// TestStandbyForgetsTheDatabaseFailureOfItsLead: a runner whose projection
// failed for want of the database while it led, and that lost the lease to
// another process meanwhile, stops reporting the failure once the database
// answers its standby's reads. Else its node stays unready for as long as
// the other process leads (a network fault between one node and PostgreSQL
// did that, cmd/tellyou/faulttest).
func TestStandbyForgetsTheDatabaseFailureOfItsLead(t *testing.T) {
	t.Parallel()
	env := projectiontest.New(t)
	store := &lostDatabase{Store: env.Store}
	store.failures.Store(1 << 30) // every read of the log fails
	// An hour's backoff: the failure stays recorded until the lease goes.
	r := env.StartRunner(projections.RunnerConfig{Store: store, Projections: []projections.Projection{projections.History()},
		Leases: true, LeaseRetry: 20 * time.Millisecond, RetryBackoff: time.Hour})
	waitFor(t, "history to fail while the runner leads it", func() bool {
		st := statusOf(r, projections.HistoryName)
		return st.Leader && st.Failing
	})

	// Another process takes the lease the moment the runner loses it: a
	// session of the test's own waits for the same advisory lock, and the
	// runner's lease session is ended.
	ctx := context.Background()
	admin, err := pgx.ConnectConfig(ctx, env.Pool.Config().ConnConfig.Copy())
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	var holder int32
	var key int64
	err = admin.QueryRow(ctx, `SELECT pid, (classid::bigint << 32) | objid::bigint FROM pg_locks
		WHERE locktype = 'advisory' AND granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`).Scan(&holder, &key)
	if err != nil {
		t.Fatalf("find the runner's lease: %v", err)
	}
	other, err := pgx.ConnectConfig(ctx, env.Pool.Config().ConnConfig.Copy())
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close(ctx)
	locked := make(chan error, 1)
	go func() {
		_, err := other.Exec(ctx, "SELECT pg_advisory_lock($1)", key)
		locked <- err
	}()
	waitFor(t, "the other session to wait for the lease", func() bool {
		var waiting bool
		err := admin.QueryRow(ctx, `SELECT EXISTS (SELECT FROM pg_locks WHERE locktype = 'advisory' AND NOT granted
			AND database = (SELECT oid FROM pg_database WHERE datname = current_database()))`).Scan(&waiting)
		return err == nil && waiting
	})
	if _, err := admin.Exec(ctx, "SELECT pg_terminate_backend($1)", holder); err != nil {
		t.Fatal(err)
	}
	if err := <-locked; err != nil {
		t.Fatalf("take the lease: %v", err)
	}

	waitFor(t, "the runner to stand by, no longer failing", func() bool {
		st := statusOf(r, projections.HistoryName)
		return !st.Leader && !st.Failing
	})
	if st := statusOf(r, projections.HistoryName); st.LastError == "" {
		t.Fatalf("status %+v: the last error is kept for diagnosis", st)
	}
}
