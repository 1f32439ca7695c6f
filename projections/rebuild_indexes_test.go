package projections_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/tellyou/tellyou/projections"
	"github.com/tellyou/tellyou/projections/projectiontest"
)

// TestRebuildGivesCopiesTheLiveIndexes adds indexes and constraints of every
// kind a read model could get from a migration to the live tables: the
// rebuilt tables must have exactly the live ones, by name, and work with the
// statement path (the catch-up's ON CONFLICT needs the unique indexes).
func TestRebuildGivesCopiesTheLiveIndexes(t *testing.T) {
	t.Parallel()
	env := projectiontest.New(t)
	for _, ddl := range []string{
		`CREATE INDEX rm_messages_recalled_by_sender ON rm_messages (sender_id, seq DESC) WHERE recalled`,
		`CREATE INDEX ON rm_messages (lower(content))`,
		`CREATE UNIQUE INDEX rm_members_by_user_lower ON rm_members (lower(user_id), session_id) INCLUDE (read_seq)`,
		`ALTER TABLE rm_sessions ADD CONSTRAINT rm_sessions_id_kind UNIQUE (session_id, kind)`,
		`ALTER TABLE rm_sessions ADD CONSTRAINT rm_sessions_seq_not_negative CHECK (last_seq >= 0)`,
		`CREATE INDEX rm_members_hash ON rm_members USING hash (user_id)`,
	} {
		if _, err := env.Pool.Exec(ctx, ddl); err != nil {
			t.Fatalf("%s: %v", ddl, err)
		}
	}
	env.StartRunner(projections.RunnerConfig{})
	appendMixed(t, env, mixedLog(testShape(), 41))
	env.WaitCaughtUp()
	before := indexes(t, env)
	rows := dumpRows(t, env)
	if _, err := projections.RebuildAll(ctx, env.Store, env.Pool, nil, nil); err != nil {
		t.Fatal(err)
	}
	if after := indexes(t, env); after != before {
		t.Errorf("indexes after the rebuild:\n%s\nbefore:\n%s", after, before)
	}
	g := env.CreateGroup("after", "alice", "bob")
	g.Send("alice", "after the rebuild")
	env.WaitCaughtUp()
	if got := dumpRows(t, env); got == rows {
		t.Error("the live runner wrote nothing to the rebuilt tables")
	}
	if got, want := dumpRows(t, env), freshBuild(t, env); got != want {
		t.Errorf("read models differ from a live build:\n%s\nwant:\n%s", got, want)
	}
}

// TestRebuildRefusesIndexesChangedMeanwhile adds an index to a live table
// while the rebuild's switch waits for a reader: the switch must fail rather
// than put in a table without it.
func TestRebuildRefusesIndexesChangedMeanwhile(t *testing.T) {
	t.Parallel()
	env := projectiontest.New(t)
	shape := testShape()
	shape.events = 100
	appendMixed(t, env, mixedLog(shape, 51))
	reader, err := env.Pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Rollback(ctx) //nolint:errcheck
	if _, err := reader.Exec(ctx, `SELECT count(*) FROM rm_messages`); err != nil {
		t.Fatal(err)
	}
	var logged syncBuffer
	logger := slog.New(slog.NewTextHandler(&logged, &slog.HandlerOptions{Level: slog.LevelDebug}))
	done := make(chan error, 1)
	go func() {
		_, err := projections.Rebuild(context.Background(), env.Store, env.Pool, projections.History(), logger)
		done <- err
	}()
	waitFor(t, "the switch to wait for the reader", func() bool {
		return strings.Contains(logged.String(), "rebuild switch waits for readers")
	})
	if _, err := env.Pool.Exec(ctx, `CREATE INDEX rm_messages_late ON rm_messages (server_ts)`); err != nil {
		t.Fatal(err)
	}
	if err := reader.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err == nil || !strings.Contains(err.Error(), "indexes changed") {
		t.Fatalf("rebuild: %v, want a refusal of the changed indexes", err)
	}
	if n := copies(t, env); n != 0 {
		t.Errorf("%d copies left", n)
	}
	var exists bool
	if err := env.Pool.QueryRow(ctx, `SELECT to_regclass('rm_messages_late') IS NOT NULL`).Scan(&exists); err != nil || !exists {
		t.Errorf("the index added meanwhile is gone (%v)", err)
	}
}

// TestRebuildOfAnApplyOnlyProjection rebuilds a projection that only has
// Apply: it is replayed event by event into a copy that has its live table's
// indexes and constraints from the start (its ON CONFLICT needs them),
// exactly once per event.
func TestRebuildOfAnApplyOnlyProjection(t *testing.T) {
	t.Parallel()
	env := projectiontest.New(t)
	createCountingTable(t, env)
	for _, ddl := range []string{
		`ALTER TABLE test_applied ADD CONSTRAINT test_applied_once UNIQUE (position, n) DEFERRABLE INITIALLY DEFERRED`,
		`CREATE INDEX ON test_applied (content) WHERE n > 1`,
	} {
		if _, err := env.Pool.Exec(ctx, ddl); err != nil {
			t.Fatalf("%s: %v", ddl, err)
		}
	}
	all := append(projections.All(), countingProjection{})
	env.StartRunner(projections.RunnerConfig{Projections: all})
	shape := testShape()
	shape.events = 300
	appendMixed(t, env, mixedLog(shape, 61))
	env.WaitCaughtUp(projections.HistoryName, projections.SessionsName, "counting")
	before := indexesOf(t, env, "test\\_%")
	stats, err := projections.RebuildAll(ctx, env.Store, env.Pool, all, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(stats) != 4 || stats[3].Projection != "counting" || stats[3].Events != stats[0].Events {
		t.Errorf("stats %+v", stats)
	}
	if after := indexesOf(t, env, "test\\_%"); after != before {
		t.Errorf("indexes after the rebuild:\n%s\nbefore:\n%s", after, before)
	}
	var rows, events, maxN int
	if err := env.Pool.QueryRow(ctx, `SELECT count(*), coalesce(max(n), 0) FROM test_applied`).Scan(&rows, &maxN); err != nil {
		t.Fatal(err)
	}
	if err := env.Pool.QueryRow(ctx, `SELECT count(*) FROM tellyou_events`).Scan(&events); err != nil {
		t.Fatal(err)
	}
	if rows != events || maxN != 1 {
		t.Errorf("rebuilt counting table has %d rows applied up to %d times; want %d events applied once", rows, maxN, events)
	}
	env.WaitCaughtUp()
	if got, want := dumpRows(t, env), freshBuild(t, env); got != want {
		t.Errorf("read models differ from a live build:\n%s\nwant:\n%s", got, want)
	}
}
