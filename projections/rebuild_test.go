package projections_test

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tellyou/tellyou/events"
	"github.com/tellyou/tellyou/projections"
	"github.com/tellyou/tellyou/projections/projectiontest"
	"github.com/tellyou/tellyou/readmodels"
)

func TestRebuildWhileLiveEqualsFreshBuild(t *testing.T) {
	t.Parallel()
	env := projectiontest.New(t)
	env.StartRunner(projections.RunnerConfig{BatchSize: 50})
	logs := buildLog(t, env, 400, 7)
	env.WaitCaughtUp()
	indexesBefore := indexes(t, env)
	// Damage the live tables: the rebuild must repair them from the log.
	if _, err := env.Pool.Exec(ctx, `UPDATE rm_messages SET content = 'tampered' WHERE seq = 1`); err != nil {
		t.Fatal(err)
	}
	if _, err := env.Pool.Exec(ctx, `UPDATE rm_sessions SET title = 'tampered'`); err != nil {
		t.Fatal(err)
	}
	q := readmodels.New(env.Pool)
	hot := logs[0] // a group: the appender writes it, the readers watch it
	watcher := "alice"

	stop := make(chan struct{})
	var wg sync.WaitGroup
	var appended atomic.Int64
	wg.Go(func() { // new events keep coming during the rebuilds
		for {
			select {
			case <-stop:
				return
			default:
			}
			hot.Send(watcher, "during the rebuild")
			appended.Add(1)
			time.Sleep(time.Millisecond)
		}
	})
	var observations atomic.Int64
	readerErrs := make(chan error, 10)
	for _, read := range []func() (int64, error){
		func() (int64, error) { // a plain statement
			var n int64
			err := env.Pool.QueryRow(ctx, `SELECT count(*) FROM rm_messages WHERE session_id = $1`, hot.ID).Scan(&n)
			return n, err
		},
		func() (int64, error) { // the queries, through prepared statements
			page, err := q.Messages(ctx, hot.ID, readmodels.PageQuery{BeforeSeq: 1 << 40, Limit: 1})
			return page.LastSeq, err
		},
		func() (int64, error) {
			list, err := q.Sessions(ctx, watcher)
			return int64(len(list)), err
		},
		func() (int64, error) {
			var n int64
			err := env.Pool.QueryRow(ctx, `SELECT count(*) FROM rm_members`).Scan(&n)
			return n, err
		},
	} {
		wg.Go(func() { // never sees a table empty, partial or going back
			prev := int64(-1)
			for {
				select {
				case <-stop:
					return
				default:
				}
				n, err := read()
				if err == nil && n < prev {
					err = fmt.Errorf("read %d after %d", n, prev)
				}
				if err != nil {
					readerErrs <- err
					return
				}
				prev = n
				observations.Add(1)
			}
		})
	}

	time.Sleep(50 * time.Millisecond)
	var logged syncBuffer
	stats, err := projections.RebuildAll(ctx, env.Store, env.Pool, nil, slog.New(slog.NewTextHandler(&logged, nil)))
	if err != nil {
		t.Fatalf("rebuild all: %v", err)
	}
	// Again: the indexes the first rebuild renamed are cloned and renamed
	// back once more.
	again, err := projections.Rebuild(ctx, env.Store, env.Pool, projections.History(), nil)
	if err != nil {
		t.Fatalf("rebuild history again: %v", err)
	}
	time.Sleep(50 * time.Millisecond)
	close(stop)
	wg.Wait()
	close(readerErrs)
	for err := range readerErrs {
		t.Errorf("reader during rebuild: %v", err)
	}
	t.Logf("rebuilds %+v %+v; %d appended and %d reads meanwhile", stats, again, appended.Load(), observations.Load())
	if len(stats) != 3 || stats[0].Projection != projections.HistoryName || stats[1].Projection != projections.SessionsName ||
		stats[2].Projection != projections.SearchName ||
		stats[0].Events < 400 || again.Events < stats[0].Events || appended.Load() == 0 {
		t.Errorf("stats %+v, %+v", stats, again)
	}
	if !strings.Contains(logged.String(), "rebuild done") {
		t.Errorf("rebuild logged nothing:\n%s", logged.String())
	}

	env.WaitCaughtUp()
	fresh := projectiontest.New(t)
	fresh.CopyLog(env.Store)
	fresh.StartRunner(projections.RunnerConfig{})
	fresh.WaitCaughtUp()
	if got, want := env.Dump(), fresh.Dump(); got != want {
		t.Errorf("rebuilt read models differ from a fresh build of the same log:\n%s\nwant:\n%s", got, want)
	}
	if got := indexes(t, env); got != indexesBefore {
		t.Errorf("indexes after rebuilds:\n%s\nbefore:\n%s", got, indexesBefore)
	}
	if leftovers := copies(t, env); leftovers != 0 {
		t.Errorf("%d __rebuild tables left", leftovers)
	}
}

func TestRebuildWithoutRunnerSetsCheckpoint(t *testing.T) {
	t.Parallel()
	env := projectiontest.New(t)
	buildLog(t, env, 100, 8)
	// Leftovers of an interrupted rebuild are replaced.
	if _, err := env.Pool.Exec(ctx, `CREATE TABLE rm_messages__rebuild (junk int)`); err != nil {
		t.Fatal(err)
	}
	env.WaitHead()
	stats, err := projections.RebuildAll(ctx, env.Store, env.Pool, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range stats {
		if st.Position != env.LastAppended() || env.Checkpoint(st.Projection) != int64(st.Position) {
			t.Errorf("%s rebuilt to %d, checkpoint %d; want %d", st.Projection, st.Position,
				env.Checkpoint(st.Projection), env.LastAppended())
		}
	}
	// A runner started now has nothing left to do but what comes next.
	env.StartRunner(projections.RunnerConfig{})
	logs := buildLog(t, env, 20, 9)
	logs[0].Send("bob", "after")
	env.WaitCaughtUp()
	fresh := projectiontest.New(t)
	fresh.CopyLog(env.Store)
	fresh.StartRunner(projections.RunnerConfig{})
	fresh.WaitCaughtUp()
	if got, want := env.Dump(), fresh.Dump(); got != want {
		t.Errorf("read models differ from a fresh build:\n%s\nwant:\n%s", got, want)
	}
}

func TestFailedRebuildLeavesLiveTables(t *testing.T) {
	t.Parallel()
	env := projectiontest.New(t)
	g := env.CreateGroup("team", "alice", "bob")
	g.Send("alice", "1")
	env.StartRunner(projections.RunnerConfig{Projections: []projections.Projection{projections.Sessions()}})
	env.WaitCaughtUp(projections.SessionsName)
	env.StartRunner(projections.RunnerConfig{Projections: []projections.Projection{projections.History()}})
	env.WaitCaughtUp(projections.HistoryName)
	bad := env.AppendData(g.ID, brokenEvent(events.TypeMessageRecalled, `{"seq":"oops"}`, 1))
	before := env.Dump()
	env.WaitHead()

	_, err := projections.Rebuild(ctx, env.Store, env.Pool, projections.History(), nil)
	var ee *projections.EventError
	if !errors.As(err, &ee) || ee.Position != bad.Position {
		t.Fatalf("rebuild over a corrupt event: %v, want its EventError at %d", err, bad.Position)
	}
	if after := env.Dump(); after != before {
		t.Errorf("a failed rebuild changed the live tables:\n%s\nbefore:\n%s", after, before)
	}
	if n := copies(t, env); n != 0 {
		t.Errorf("%d copies left after a failed rebuild", n)
	}
}

func TestRebuildSwitchWaitsForALongReader(t *testing.T) {
	t.Parallel()
	env := projectiontest.New(t)
	logs := buildLog(t, env, 50, 12)
	env.StartRunner(projections.RunnerConfig{})
	env.WaitCaughtUp()
	// A reader holds rm_messages in an open transaction for a while.
	reader, err := env.Pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var n int
	if err := reader.QueryRow(ctx, `SELECT count(*) FROM rm_messages`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := projections.Rebuild(ctx, env.Store, env.Pool, projections.History(), nil)
		done <- err
	}()
	time.Sleep(400 * time.Millisecond) // several switch attempts time out
	// Meanwhile the live runner is not held up for good.
	logs[0].Send("alice", "during the switch attempts")
	env.WaitCaughtUp()
	select {
	case err := <-done:
		t.Fatalf("rebuild ended while the reader held the table: %v", err)
	default:
	}
	if err := reader.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("rebuild after the reader ended: %v", err)
	}
	env.WaitCaughtUp()
	fresh := projectiontest.New(t)
	fresh.CopyLog(env.Store)
	fresh.StartRunner(projections.RunnerConfig{})
	fresh.WaitCaughtUp()
	if got, want := env.Dump(), fresh.Dump(); got != want {
		t.Errorf("read models differ from a fresh build:\n%s\nwant:\n%s", got, want)
	}
}

func TestOneRebuildOfAProjectionAtATime(t *testing.T) {
	t.Parallel()
	env := projectiontest.New(t)
	conn, err := env.Pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	// What a rebuild of history running in another process holds.
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock(hashtextextended('tellyou.rebuild.history', 0))`); err != nil {
		t.Fatal(err)
	}
	if _, err := projections.Rebuild(ctx, env.Store, env.Pool, projections.History(), nil); !errors.Is(err, projections.ErrRebuildRunning) {
		t.Errorf("rebuild during another: %v, want ErrRebuildRunning", err)
	}
	if _, err := projections.Rebuild(ctx, env.Store, env.Pool, projections.Sessions(), nil); err != nil {
		t.Errorf("rebuild of another projection: %v", err)
	}
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_unlock(hashtextextended('tellyou.rebuild.history', 0))`); err != nil {
		t.Fatal(err)
	}
	if _, err := projections.Rebuild(ctx, env.Store, env.Pool, projections.History(), nil); err != nil {
		t.Errorf("rebuild after the other: %v", err)
	}
}

// indexes describes the read-model tables' indexes and constraints by name.
func indexes(t *testing.T, env *projectiontest.Env) string {
	t.Helper()
	return indexesOf(t, env, `rm\_%`)
}

// indexesOf describes the indexes and constraints of the tables whose names
// are LIKE pattern.
func indexesOf(t *testing.T, env *projectiontest.Env, pattern string) string {
	t.Helper()
	var s string
	err := env.Pool.QueryRow(ctx, `SELECT string_agg(d, E'\n' ORDER BY d) FROM (
		SELECT indexdef AS d FROM pg_indexes WHERE schemaname = current_schema() AND tablename LIKE $1
		UNION ALL
		SELECT conrelid::regclass || ' ' || conname || ' ' || pg_get_constraintdef(oid) FROM pg_constraint
		WHERE connamespace = current_schema()::regnamespace AND conrelid::regclass::text LIKE $1) x`, pattern).Scan(&s)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func copies(t *testing.T, env *projectiontest.Env) int {
	t.Helper()
	var n int
	if err := env.Pool.QueryRow(ctx, `SELECT count(*) FROM pg_tables
		WHERE schemaname = current_schema() AND tablename LIKE '%\_\_rebuild'`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}
