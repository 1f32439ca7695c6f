package readmodels_test

import (
	"sync"
	"testing"

	"github.com/tellyou/tellyou/events/pgstore/pgtest"
	"github.com/tellyou/tellyou/readmodels"
)

func TestMigrateRacingProcessesAndAgain(t *testing.T) {
	t.Parallel()
	pool := pgtest.NewPool(t)
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Go(func() { errs[i] = readmodels.Migrate(ctx, pool) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("migrator %d: %v", i, err)
		}
	}
	if err := readmodels.Migrate(ctx, pool); err != nil {
		t.Fatalf("migrate again: %v", err)
	}
	var version, tables int
	if err := pool.QueryRow(ctx, "SELECT version FROM "+readmodels.VersionTable).Scan(&version); err != nil || version != 7 {
		t.Errorf("schema version %d, %v; want 7", version, err)
	}
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM pg_tables WHERE schemaname = current_schema()
		AND tablename IN ('rm_messages', 'rm_reactions', 'rm_sessions', 'rm_members', 'rm_checkpoints', 'rm_search')`).Scan(&tables); err != nil || tables != 6 {
		t.Errorf("%d read-model tables, %v; want 6", tables, err)
	}
}
