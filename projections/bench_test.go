package projections_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/tellyou/tellyou/events"
	"github.com/tellyou/tellyou/projections"
	"github.com/tellyou/tellyou/projections/projectiontest"
)

// benchEvents is the size of the log the benchmarks project: MessageSent
// events over 50 groups, appended 100 to a call.
const benchEvents = 20000

func benchLog(b *testing.B) *projectiontest.Env {
	b.Helper()
	env := projectiontest.New(b)
	var groups []*projectiontest.SessionLog
	for i := range 50 {
		groups = append(groups, env.CreateGroup(fmt.Sprintf("g%d", i), "alice", "bob", "carol"))
	}
	for n := 0; n < benchEvents; {
		g := groups[(n/100)%len(groups)]
		batch := make([]events.Payload, 0, 100)
		for range 100 {
			g.Seq++
			now := env.Now()
			batch = append(batch, events.MessageSent{SessionID: g.ID, MessageID: uuid.NewString(), Seq: g.Seq,
				SenderID: "alice", MessageType: 1, Content: "a message of realistic length, say sixty bytes",
				ClientMessageID: uuid.NewString(), ClientTimestamp: now, ServerTimestamp: now, AdjustedTimestamp: now})
		}
		env.Append(g.ID, batch...)
		n += len(batch)
	}
	return env
}

// BenchmarkApply measures a runner catching up on benchEvents MessageSent
// events, both projections, from empty read models.
func BenchmarkApply(b *testing.B) {
	env := benchLog(b)
	total := int64(env.LastAppended())
	var events int
	var elapsed time.Duration
	for b.Loop() {
		b.StopTimer()
		if _, err := env.Pool.Exec(ctx, `TRUNCATE rm_messages, rm_sessions, rm_members, rm_checkpoints`); err != nil {
			b.Fatal(err)
		}
		r, err := projections.NewRunner(projections.RunnerConfig{Store: env.Store, Pool: env.Pool})
		if err != nil {
			b.Fatal(err)
		}
		runCtx, stop := context.WithCancel(ctx)
		var wg sync.WaitGroup
		b.StartTimer()
		start := time.Now()
		wg.Go(func() { _ = r.Run(runCtx) })
		for env.Checkpoint(projections.HistoryName) < total || env.Checkpoint(projections.SessionsName) < total {
			time.Sleep(time.Millisecond)
		}
		elapsed += time.Since(start)
		events += benchEvents + 50
		stop()
		wg.Wait()
	}
	b.ReportMetric(float64(events)/elapsed.Seconds(), "events/s")
}

// BenchmarkRebuild measures RebuildAll over benchEvents MessageSent events:
// events of the log replayed into every read model per second of wall time.
func BenchmarkRebuild(b *testing.B) {
	env := benchLog(b)
	var events int
	var elapsed time.Duration
	for b.Loop() {
		start := time.Now()
		stats, err := projections.RebuildAll(ctx, env.Store, env.Pool, nil, nil)
		if err != nil {
			b.Fatal(err)
		}
		elapsed += time.Since(start)
		events += stats[0].Events // every projection replays the whole log
	}
	b.ReportMetric(float64(events)/elapsed.Seconds(), "events/s")
}
