// Package handlerstest builds a complete TellYou engine for tests: a fresh
// database on the real PostgreSQL, the PostgreSQL event store, the projections
// running, the command handlers and queries, a settable clock and a token
// secret. Transport tests put their server on top of it.
package handlerstest

import (
	"context"
	"crypto/rand"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tellyou/tellyou/domain"
	"github.com/tellyou/tellyou/events"
	"github.com/tellyou/tellyou/events/keystore"
	"github.com/tellyou/tellyou/events/pgstore"
	"github.com/tellyou/tellyou/events/pgstore/pgtest"
	"github.com/tellyou/tellyou/events/sealing"
	"github.com/tellyou/tellyou/handlers/command"
	"github.com/tellyou/tellyou/handlers/query"
	"github.com/tellyou/tellyou/handlers/transport/auth"
	"github.com/tellyou/tellyou/projections"
	"github.com/tellyou/tellyou/readmodels"
)

// Engine is the write side, the read side and the projections between them.
type Engine struct {
	Pool     *pgxpool.Pool
	Store    *pgstore.Store
	RM       *readmodels.Queries
	Commands *command.Commands
	Queries  *query.Queries
	Runner   *projections.Runner
	Clock    *Clock
	Policy   domain.Policy
	Secret   []byte
	// FastPath receives the appends of Commands: set it to a delivery hub's
	// Committed to deliver them by the fast path.
	FastPath *FastPath
	// Keys holds the data keys of sealed content (a random master key),
	// and Sealer seals it in Commands and opens it in Runner: the log of
	// an engine holds message content sealed, as a server's does. Give
	// Sealer as the Opener of a tail, delivery or gateway built on Store.
	Keys   *keystore.Store
	Sealer *sealing.Sealer
}

// Clock is a server clock the test can move; it starts at the real time.
type Clock struct{ ms atomic.Int64 }

// Now returns the clock's time.
func (c *Clock) Now() time.Time { return time.UnixMilli(c.ms.Load()) }

// Advance moves the clock forward.
func (c *Clock) Advance(d time.Duration) { c.ms.Add(d.Milliseconds()) }

// Options adjust New.
type Options struct {
	// Policy replaces domain.DefaultPolicy().
	Policy *domain.Policy
	// RealClock makes the engine use time.Now instead of a settable clock
	// (Clock is then nil).
	RealClock bool
	// Admission bounds the work of the engine's Commands (default: the
	// handlers' defaults).
	Admission command.AdmissionConfig
}

// New builds an engine on a fresh database; everything stops when the test ends.
func New(t testing.TB, opts Options) *Engine {
	t.Helper()
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	for _, migrate := range []func(context.Context, *pgxpool.Pool) error{pgstore.Migrate, readmodels.Migrate, auth.Migrate, keystore.Migrate} {
		if err := migrate(ctx, pool); err != nil {
			t.Fatal(err)
		}
	}
	store, err := pgstore.New(ctx, pool, pgstore.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(store.Close)
	e := &Engine{Pool: pool, Store: store, RM: readmodels.New(pool), Policy: domain.DefaultPolicy(),
		Secret: []byte("handlerstest-secret-0123456789abcdef")}
	if opts.Policy != nil {
		e.Policy = *opts.Policy
	}
	now := time.Now
	if !opts.RealClock {
		e.Clock = &Clock{}
		e.Clock.ms.Store(time.Now().UnixMilli())
		now = e.Clock.Now
	}
	master := make([]byte, sealing.KeySize)
	if _, err := rand.Read(master); err != nil {
		t.Fatal(err)
	}
	if e.Keys, err = keystore.New(ctx, pool, keystore.Config{Master: master}); err != nil {
		t.Fatal(err)
	}
	if e.Sealer, err = sealing.NewSealer(e.Keys); err != nil {
		t.Fatal(err)
	}
	e.FastPath = &FastPath{}
	e.Commands = e.newCommands(t, now, e.FastPath.Committed, opts.Admission)
	if e.Queries, err = query.NewQueries(e.Commands, e.RM, store); err != nil {
		t.Fatal(err)
	}
	e.Runner, err = projections.NewRunner(projections.RunnerConfig{
		Store: store, Pool: pool, Opener: e.Sealer, Logger: slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	if err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); _ = e.Runner.Run(runCtx) }()
	t.Cleanup(func() { cancel(); wg.Wait() })
	return e
}

// FastPath hands the appends of the engine's commands to a delivery hub set
// once the hub exists (see Engine.FastPath): until then, and when it is never
// set, appends reach connections by the log only.
type FastPath struct {
	to atomic.Pointer[func(events.Committed)]
}

// Set makes fn receive every append from now on.
func (f *FastPath) Set(fn func(events.Committed)) { f.to.Store(&fn) }

// Committed passes c on to the function set, if any.
func (f *FastPath) Committed(c events.Committed) {
	if fn := f.to.Load(); fn != nil {
		(*fn)(c)
	}
}

// NewNode returns another set of command handlers on the same store with its
// own session cache, as a second server process would have; its appends go
// to a fast path of its own, not the engine's.
func (e *Engine) NewNode(t testing.TB, now func() time.Time) *command.Commands {
	t.Helper()
	return e.newCommands(t, now, nil, command.AdmissionConfig{})
}

func (e *Engine) newCommands(t testing.TB, now func() time.Time, committed func(events.Committed), admission command.AdmissionConfig) *command.Commands {
	t.Helper()
	cmds, err := command.NewCommands(command.Config{Store: e.Store, History: e.RM, Policy: e.Policy, Now: now,
		Committed: committed, Admission: admission, Sealer: e.Sealer})
	if err != nil {
		t.Fatal(err)
	}
	return cmds
}

// Token mints a token for user, valid for an hour of real time.
func (e *Engine) Token(t testing.TB, user string, roles ...string) string {
	t.Helper()
	tok, err := auth.Mint(e.Secret, auth.Principal{UserID: user, Roles: roles}, time.Now(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// CaughtUp waits until every projection has applied every event committed so
// far in this engine's database.
func (e *Engine) CaughtUp(t testing.TB) {
	t.Helper()
	ctx := context.Background()
	var target int64
	if err := e.Pool.QueryRow(ctx, `SELECT coalesce(max(position), 0) FROM tellyou_events`).Scan(&target); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		var n int
		var lowest int64
		err := e.Pool.QueryRow(ctx, `SELECT count(*), coalesce(min(position), 0) FROM rm_checkpoints`).Scan(&n, &lowest)
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

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(string(p))
	return len(p), nil
}

// As is the request metadata of a command made by user.
func As(user string) command.RequestMeta { return command.RequestMeta{Actor: user} }

// Send sends a text message from a user to a session and fails the test if
// it is refused.
func (e *Engine) Send(t testing.TB, from, sessionID, content, clientID string) command.SendAck {
	t.Helper()
	return e.send(t, command.Send{Meta: As(from), SessionID: sessionID, MessageType: 1, Content: content,
		ClientMessageID: clientID})
}

// SendTo sends a text message from a user to another, in their direct
// session, and fails the test if it is refused.
func (e *Engine) SendTo(t testing.TB, from, to, content, clientID string) command.SendAck {
	t.Helper()
	return e.send(t, command.Send{Meta: As(from), ToUserID: to, MessageType: 1, Content: content, ClientMessageID: clientID})
}

func (e *Engine) send(t testing.TB, cmd command.Send) command.SendAck {
	t.Helper()
	now := time.Now
	if e.Clock != nil {
		now = e.Clock.Now
	}
	cmd.ClientTimestamp = now().UnixMilli()
	ack, err := e.Commands.Send.Handle(context.Background(), cmd)
	if err != nil {
		t.Fatalf("%s sends %q: %v", cmd.Meta.Actor, cmd.Content, err)
	}
	return ack
}

// Group creates a group owned by owner with members and returns its id.
func (e *Engine) Group(t testing.TB, owner string, members ...string) string {
	t.Helper()
	s, err := e.Commands.CreateGroup.Handle(context.Background(), command.CreateGroup{Meta: As(owner), Title: "team", Members: members})
	if err != nil {
		t.Fatalf("create group: %v", err)
	}
	return s.ID
}
