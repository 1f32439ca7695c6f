package handlers_test

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tellyou/tellyou/domain"
	"github.com/tellyou/tellyou/events/pgstore"
	"github.com/tellyou/tellyou/events/pgstore/pgtest"
	"github.com/tellyou/tellyou/handlers"
	"github.com/tellyou/tellyou/projections"
	"github.com/tellyou/tellyou/readmodels"
)

// engine is a complete TellYou write and read side on a fresh database, with
// the projections running.
type engine struct {
	pool    *pgxpool.Pool
	store   *pgstore.Store
	rm      *readmodels.Queries
	cmds    *handlers.Commands
	queries *handlers.Queries
	clock   *testClock
	policy  domain.Policy
}

// testClock is a settable server clock, so recall windows and clock skew can be
// exercised without sleeping.
type testClock struct{ ms atomic.Int64 }

func (c *testClock) Now() time.Time          { return time.UnixMilli(c.ms.Load()) }
func (c *testClock) Advance(d time.Duration) { c.ms.Add(d.Milliseconds()) }

func newEngine(t *testing.T) *engine {
	t.Helper()
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	if err := pgstore.Migrate(ctx, pool); err != nil {
		t.Fatal(err)
	}
	if err := readmodels.Migrate(ctx, pool); err != nil {
		t.Fatal(err)
	}
	store, err := pgstore.New(ctx, pool, pgstore.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(store.Close)
	e := &engine{pool: pool, store: store, rm: readmodels.New(pool), clock: &testClock{}, policy: domain.DefaultPolicy()}
	e.clock.ms.Store(time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC).UnixMilli())
	e.cmds = e.newNode(t)
	if e.queries, err = handlers.NewQueries(e.cmds, e.rm, store); err != nil {
		t.Fatal(err)
	}
	runner, err := projections.NewRunner(projections.RunnerConfig{Store: store, Pool: pool, Logger: slog.New(slog.NewTextHandler(t.Output(), nil))})
	if err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); _ = runner.Run(runCtx) }()
	t.Cleanup(func() { cancel(); wg.Wait() })
	return e
}

// newNode returns another set of command handlers on the same store, with its
// own session cache, as a second server process would have.
func (e *engine) newNode(t *testing.T) *handlers.Commands {
	t.Helper()
	cmds, err := handlers.NewCommands(handlers.Config{Store: e.store, History: e.rm, Policy: e.policy, Now: e.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	return cmds
}

// caughtUp waits until every projection has applied every event committed so
// far in this test's database.
func (e *engine) caughtUp(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	var target int64
	if err := e.pool.QueryRow(ctx, `SELECT coalesce(max(position), 0) FROM tellyou_events`).Scan(&target); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		var n int
		var lowest int64
		err := e.pool.QueryRow(ctx, `SELECT count(*), coalesce(min(position), 0) FROM rm_checkpoints`).Scan(&n, &lowest)
		if err != nil {
			t.Fatal(err)
		}
		if n == len(projections.All()) && lowest >= target {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("projections still behind position %d after 30s (lowest checkpoint %d of %d)", target, lowest, n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func as(user string) handlers.RequestMeta { return handlers.RequestMeta{Actor: user} }

func (e *engine) send(t *testing.T, from, sessionID, content, clientID string) handlers.SendAck {
	t.Helper()
	ack, err := e.cmds.Send.Handle(context.Background(), handlers.Send{
		Meta: as(from), SessionID: sessionID, MessageType: 1, Content: content, ClientMessageID: clientID,
		ClientTimestamp: e.clock.Now().UnixMilli(),
	})
	if err != nil {
		t.Fatalf("%s sends %q to %s: %v", from, content, sessionID, err)
	}
	return ack
}

func (e *engine) sendTo(t *testing.T, from, to, content, clientID string) handlers.SendAck {
	t.Helper()
	ack, err := e.cmds.Send.Handle(context.Background(), handlers.Send{
		Meta: as(from), ToUserID: to, MessageType: 1, Content: content, ClientMessageID: clientID,
		ClientTimestamp: e.clock.Now().UnixMilli(),
	})
	if err != nil {
		t.Fatalf("%s sends %q to %s: %v", from, content, to, err)
	}
	return ack
}

func (e *engine) group(t *testing.T, owner string, members ...string) string {
	t.Helper()
	s, err := e.cmds.CreateGroup.Handle(context.Background(), handlers.CreateGroup{Meta: as(owner), Title: "team", Members: members})
	if err != nil {
		t.Fatalf("create group: %v", err)
	}
	return s.ID
}

func errorsAs(err error, target **domain.Error) bool { return errors.As(err, target) }
