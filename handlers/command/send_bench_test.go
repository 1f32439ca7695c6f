package command_test

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/tellyou/tellyou/handlers/command"
	"github.com/tellyou/tellyou/handlers/handlerstest"
)

// BenchmarkSendHandler measures the whole command path of a send on the real
// PostgreSQL: lock the session, decide on the cached state, encode, append and
// commit, with the projections following the log as they do in serve. The
// pool is pgxpool's default, as serve's is unless the database URL sets
// pool_max_conns.
//
// sequential is the latency of one send to one session, each waiting for the
// one before. parallel spreads sends over many direct sessions, one per
// goroutine (b.SetParallelism times GOMAXPROCS of them): the throughput of a
// node whose senders do not share sessions.
func BenchmarkSendHandler(b *testing.B) {
	content := strings.Repeat("a", 100)
	b.Run("sequential", func(b *testing.B) {
		e := handlerstest.New(b, handlerstest.Options{RealClock: true})
		ctx := context.Background()
		first, err := e.Commands.Send.Handle(ctx, command.Send{Meta: as("ann"), ToUserID: "bob", MessageType: 1,
			Content: content, ClientMessageID: "c-first"})
		if err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		n := 0
		for b.Loop() {
			n++
			if _, err := e.Commands.Send.Handle(ctx, command.Send{Meta: as("ann"), SessionID: first.SessionID, MessageType: 1,
				Content: content, ClientMessageID: fmt.Sprint("c", n)}); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "messages/s")
	})
	for _, perCPU := range []int{4, 16} {
		b.Run(fmt.Sprintf("parallel/goroutines-per-cpu=%d", perCPU), func(b *testing.B) {
			e := handlerstest.New(b, handlerstest.Options{RealClock: true})
			var senders, sent atomic.Int64
			b.SetParallelism(perCPU)
			b.ReportAllocs()
			b.ResetTimer() // not the database's creation
			b.RunParallel(func(pb *testing.PB) {
				ctx := context.Background()
				k := senders.Add(1)
				from, to := fmt.Sprintf("sender%03d", k), fmt.Sprintf("peer%03d", k)
				sessionID := ""
				for i := 0; pb.Next(); i++ {
					// The first send creates the sender's own direct session.
					cmd := command.Send{Meta: as(from), SessionID: sessionID, MessageType: 1, Content: content,
						ClientMessageID: fmt.Sprint("c", i)}
					if sessionID == "" {
						cmd.ToUserID = to
					}
					ack, err := e.Commands.Send.Handle(ctx, cmd)
					if err != nil {
						b.Error(err)
						return
					}
					sessionID = ack.SessionID
					sent.Add(1)
				}
			})
			b.ReportMetric(float64(sent.Load())/b.Elapsed().Seconds(), "messages/s")
			b.ReportMetric(float64(senders.Load()), "sessions")
		})
	}
}

// BenchmarkSessionFacts reads a busy session's members, as every push, pull,
// sync and typing frame does: through a copy of the state (Load) or in place
// (View). The session holds 2,000 messages of the last 24 hours, which the
// state keeps for duplicate detection and recall, and a copy duplicates.
func BenchmarkSessionFacts(b *testing.B) {
	e := handlerstest.New(b, handlerstest.Options{RealClock: true})
	ctx := context.Background()
	first, err := e.Commands.Send.Handle(ctx, command.Send{Meta: as("ann"), ToUserID: "bob", MessageType: 1,
		Content: "first", ClientMessageID: "c-first"})
	if err != nil {
		b.Fatal(err)
	}
	for i := range 2000 {
		if _, err := e.Commands.Send.Handle(ctx, command.Send{Meta: as("ann"), SessionID: first.SessionID, MessageType: 1,
			Content: "busy", ClientMessageID: fmt.Sprint("c", i)}); err != nil {
			b.Fatal(err)
		}
	}
	b.Run("Load", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			s, err := e.Commands.Sessions.Load(ctx, first.SessionID)
			if err != nil || len(s.MemberIDs()) != 2 {
				b.Fatal(s, err)
			}
		}
	})
	b.Run("View", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			ids, err := e.Queries.Members(ctx, first.SessionID)
			if err != nil || len(ids) != 2 {
				b.Fatal(ids, err)
			}
		}
	})
}
