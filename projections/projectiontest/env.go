// Package projectiontest gives tests a fresh database with an event store and
// migrated read models, a writer of realistic session logs, and helpers to wait
// for projections and dump the read models.
package projectiontest

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/tellyou/tellyou/events"
	"github.com/tellyou/tellyou/events/pgstore"
	"github.com/tellyou/tellyou/events/pgstore/pgtest"
	"github.com/tellyou/tellyou/events/tail"
	"github.com/tellyou/tellyou/projections"
	"github.com/tellyou/tellyou/readmodels"
)

// Env is one test's database: an event store and migrated read models.
type Env struct {
	TB    testing.TB
	Pool  *pgxpool.Pool
	Store *pgstore.Store
	// clock gives every appended event a later server time, in ms.
	clock atomic.Int64
	// appended is the highest position an append through the env returned.
	appended atomic.Int64
}

// New creates a fresh database for tb with both schemas migrated and an event
// store on it; all are removed when tb ends.
func New(tb testing.TB) *Env {
	tb.Helper()
	ctx := context.Background()
	// Room for what a running server and a rebuild hold at once: a rebuild
	// switch of each projection holds a connection and locks its
	// checkpoint, a live runner's batch of each holds one while it waits for
	// that lock, and the switch still reads the log. (A server and `tellyou
	// rebuild` are two processes with a pool each.)
	pool := pgtest.NewPoolOf(tb, 12)
	if err := pgstore.Migrate(ctx, pool); err != nil {
		tb.Fatalf("migrate event store: %v", err)
	}
	if err := readmodels.Migrate(ctx, pool); err != nil {
		tb.Fatalf("migrate read models: %v", err)
	}
	store, err := pgstore.New(ctx, pool, pgstore.Config{PollInterval: 50 * time.Millisecond,
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		tb.Fatalf("open event store: %v", err)
	}
	tb.Cleanup(store.Close)
	e := &Env{TB: tb, Pool: pool, Store: store}
	e.clock.Store(1_700_000_000_000)
	return e
}

// Now returns a server time later than every earlier one.
func (e *Env) Now() int64 { return e.clock.Add(1000) }

// Append encodes payloads and appends them to stream in one call, with no
// version check.
func (e *Env) Append(stream string, payloads ...events.Payload) events.AppendResult {
	e.TB.Helper()
	data := make([]events.EventData, len(payloads))
	for i, p := range payloads {
		d, err := events.Encode(events.Envelope{Payload: p, Meta: events.Metadata{
			Actor: "test", CorrelationID: "test", OccurredAt: e.Now()}})
		if err != nil {
			e.TB.Fatalf("encode %T: %v", p, err)
		}
		data[i] = d
	}
	return e.AppendData(stream, data...)
}

// AppendData appends already encoded (or deliberately broken) events.
func (e *Env) AppendData(stream string, data ...events.EventData) events.AppendResult {
	e.TB.Helper()
	res, err := e.Store.Append(context.Background(), stream, events.AnyVersion, data)
	if err != nil {
		e.TB.Fatalf("append to %s: %v", stream, err)
	}
	for {
		cur := e.appended.Load()
		if int64(res.Position) <= cur || e.appended.CompareAndSwap(cur, int64(res.Position)) {
			break
		}
	}
	return res
}

// StartRunner runs a runner over the env until the test ends. cfg's Store and
// Pool default to the env's; with the env's store, its Log defaults to a tail
// of the store of its own, with a small window so that projections behind it
// catch up from the log as they do in a server that has fallen behind (a
// Store of the test's own is followed directly, so that its failures reach
// the runner).
func (e *Env) StartRunner(cfg projections.RunnerConfig) *projections.Runner {
	e.TB.Helper()
	var logTail *tail.Tail
	if cfg.Store == nil {
		cfg.Store = e.Store
	}
	if cfg.Log == nil && cfg.Store == events.Store(e.Store) {
		var err error
		logTail, err = tail.New(tail.Config{Log: cfg.Store, Window: 64})
		if err != nil {
			e.TB.Fatalf("log tail: %v", err)
		}
		cfg.Log = logTail
	}
	if cfg.Pool == nil {
		cfg.Pool = e.Pool
	}
	if cfg.RetryBackoff == 0 {
		cfg.RetryBackoff = 20 * time.Millisecond
	}
	r, err := projections.NewRunner(cfg)
	if err != nil {
		e.TB.Fatalf("new runner: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	if logTail != nil {
		wg.Go(func() { _ = logTail.Run(ctx) })
	}
	wg.Go(func() {
		if err := r.Run(ctx); err != nil {
			e.TB.Errorf("runner: %v", err)
		}
	})
	e.TB.Cleanup(func() { cancel(); wg.Wait() })
	return r
}

// WaitCaughtUp waits until the named projections (all when none are named)
// have applied every event appended through the env so far, whoever runs
// them.
func (e *Env) WaitCaughtUp(names ...string) {
	e.TB.Helper()
	if len(names) == 0 {
		for _, p := range projections.All() {
			names = append(names, p.Name())
		}
	}
	target := e.appended.Load()
	deadline := time.Now().Add(30 * time.Second)
	for {
		behind := map[string]int64{}
		for _, n := range names {
			if pos := e.Checkpoint(n); pos < target {
				behind[n] = target - pos
			}
		}
		if len(behind) == 0 {
			return
		}
		if time.Now().After(deadline) {
			e.TB.Fatalf("projections not caught up with position %d after 30s: behind by %v", target, behind)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// WaitHead waits until the head of the log covers every event appended
// through the env so far: readers of the global log (ReadAll, Rebuild) see
// only events whose place is final.
func (e *Env) WaitHead() {
	e.TB.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		head, err := e.Store.Head(context.Background())
		if err != nil {
			e.TB.Fatalf("read head: %v", err)
		}
		if head >= e.LastAppended() {
			return
		}
		if time.Now().After(deadline) {
			e.TB.Fatalf("head at %d after 30s, want %d", head, e.LastAppended())
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// Checkpoint returns the stored checkpoint of the projection (0 when none).
func (e *Env) Checkpoint(name string) int64 {
	e.TB.Helper()
	var pos int64
	err := e.Pool.QueryRow(context.Background(),
		`SELECT coalesce((SELECT position FROM rm_checkpoints WHERE name = $1), 0)`, name).Scan(&pos)
	if err != nil {
		e.TB.Fatalf("read checkpoint of %s: %v", name, err)
	}
	return pos
}

// LastAppended returns the highest position an append through the env
// returned.
func (e *Env) LastAppended() events.Position { return events.Position(e.appended.Load()) }

// Dump renders every read-model table, rows in key order, for comparison.
// Checkpoints are left out: they are positions, which differ between logs of
// the same events.
func (e *Env) Dump() string {
	e.TB.Helper()
	var sb strings.Builder
	for _, q := range []string{
		`SELECT session_id, seq, message_id, sender_id, message_type, content, ext::text,
			client_message_id, client_ts, server_ts, adjusted_ts, recalled, edited_at, reply_to
		 FROM rm_messages ORDER BY session_id, seq`,
		`SELECT message_id, emoji, user_id, version FROM rm_reactions ORDER BY message_id, emoji, user_id`,
		`SELECT session_id, kind, title, owner, created_at, last_seq, last_activity
		 FROM rm_sessions ORDER BY session_id`,
		`SELECT session_id, user_id, received_seq, read_seq, muted FROM rm_members ORDER BY session_id, user_id`,
	} {
		rows, err := e.Pool.Query(context.Background(), q)
		if err != nil {
			e.TB.Fatalf("dump: %v", err)
		}
		all, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) ([]any, error) { return r.Values() })
		if err != nil {
			e.TB.Fatalf("dump: %v", err)
		}
		fmt.Fprintf(&sb, "-- %d rows\n", len(all))
		for _, row := range all {
			fmt.Fprintln(&sb, row...)
		}
	}
	return sb.String()
}

// CopyLog appends every event of from's log to e's, in global order, with the
// same streams, ids, types, data and metadata.
func (e *Env) CopyLog(from events.Store) int {
	e.TB.Helper()
	ctx := context.Background()
	n := 0
	var after events.Position
	for {
		evs, err := from.ReadAll(ctx, after, 500)
		if err != nil {
			e.TB.Fatalf("read log to copy: %v", err)
		}
		if len(evs) == 0 {
			return n
		}
		for i := 0; i < len(evs); {
			j := i
			var data []events.EventData
			for ; j < len(evs) && evs[j].StreamID == evs[i].StreamID; j++ {
				data = append(data, events.EventData{EventID: evs[j].EventID, Type: evs[j].Type,
					Data: evs[j].Data, Metadata: evs[j].Metadata})
			}
			e.AppendData(evs[i].StreamID, data...)
			n += j - i
			i = j
		}
		after = evs[len(evs)-1].Position
	}
}
