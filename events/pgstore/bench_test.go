package pgstore_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/google/uuid"

	"github.com/tellyou/tellyou/events"
	"github.com/tellyou/tellyou/events/pgstore"
	"github.com/tellyou/tellyou/events/pgstore/pgtest"
)

// benchData is the size of a typical MessageSent payload.
var benchData = []byte(`{"sessionId":"s-0123456789","messageId":"m-0123456789","seq":42,"senderId":"u-0123456789",` +
	`"messageType":1,"content":"hello there, this is a message of ordinary length","clientMessageId":"c-0123456789",` +
	`"clientTimestamp":1700000000000,"serverTimestamp":1700000000001,"adjustedTimestamp":1700000000001}`)

var benchMetadata = []byte(`{"eventId":"00000000-0000-0000-0000-000000000000","correlationId":"r-0123456789",` +
	`"causationId":"f-0123456789","actor":"u-0123456789","occurredAt":1700000000001,"schemaVersion":1}`)

func benchEvents(n int) []events.EventData {
	evs := make([]events.EventData, n)
	for i := range evs {
		evs[i] = events.EventData{EventID: uuid.New(), Type: events.TypeMessageSent, Data: benchData, Metadata: benchMetadata}
	}
	return evs
}

// newBenchStore returns a store on a fresh database with a pool of maxConns.
func newBenchStore(b *testing.B, maxConns int32) *pgstore.Store {
	b.Helper()
	return newBenchStoreWith(b, maxConns, pgstore.Config{})
}

// newBenchStoreWith returns a store with cfg on a fresh database with a pool
// of maxConns.
func newBenchStoreWith(b *testing.B, maxConns int32, storeCfg pgstore.Config) *pgstore.Store {
	b.Helper()
	return newStore(b, pgtest.NewPoolOf(b, maxConns), storeCfg)
}

func reportEventsPerSecond(b *testing.B, n int) {
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkAppendSingle appends one event at a time to one stream, waiting
// for each append: the latency of one append, commit included.
func BenchmarkAppendSingle(b *testing.B) {
	s := newBenchStore(b, 4)
	ctx := context.Background()
	version := events.NoStream
	for b.Loop() {
		if _, err := s.Append(ctx, "single", version, benchEvents(1)); err != nil {
			b.Fatal(err)
		}
		version++
	}
	reportEventsPerSecond(b, b.N)
}

// BenchmarkAppendParallel appends one event at a time from 16 goroutines per
// CPU, each to its own streams, over a pool of 32 connections: throughput when
// commits can be shared. "group" is the default (group commit), "alone" gives
// every append a transaction of its own.
func BenchmarkAppendParallel(b *testing.B) {
	for _, mode := range []struct {
		name       string
		committers int
	}{{"group", 0}, {"alone", -1}} {
		b.Run(mode.name, func(b *testing.B) {
			s := newBenchStoreWith(b, 32, pgstore.Config{Committers: mode.committers})
			var goroutines atomic.Int64
			b.SetParallelism(16)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				ctx := context.Background()
				g := goroutines.Add(1)
				i := 0
				for pb.Next() {
					// A new stream every 100 events, as sessions come and go.
					stream := fmt.Sprintf("parallel-%d-%d", g, i/100)
					version := events.ExpectedVersion(i % 100)
					if _, err := s.Append(ctx, stream, version, benchEvents(1)); err != nil {
						b.Fatal(err)
					}
					i++
				}
			})
			reportEventsPerSecond(b, b.N)
			if st := s.GroupCommitStats(); st.Batches > 0 {
				b.ReportMetric(float64(st.Appends)/float64(st.Batches), "appends/batch")
			}
		})
	}
}

// BenchmarkAppendBatch appends 100 events per append to one stream.
func BenchmarkAppendBatch(b *testing.B) {
	const batch = 100
	s := newBenchStore(b, 4)
	ctx := context.Background()
	version := events.NoStream
	for b.Loop() {
		if _, err := s.Append(ctx, "batch", version, benchEvents(batch)); err != nil {
			b.Fatal(err)
		}
		version += batch
	}
	reportEventsPerSecond(b, b.N*batch)
}

// BenchmarkReadAll reads the global log in pages of 1000 events, starting over
// at its end.
func BenchmarkReadAll(b *testing.B) {
	const stored, page = 20000, 1000
	s := newBenchStore(b, 4)
	ctx := context.Background()
	var last events.AppendResult
	for i := 0; i < stored; i += 1000 {
		var err error
		if last, err = s.Append(ctx, fmt.Sprintf("read-%d", i/5000), events.AnyVersion, benchEvents(1000)); err != nil {
			b.Fatal(err)
		}
	}
	for head := events.Position(0); head < last.Position; {
		var err error
		if head, err = s.Head(ctx); err != nil {
			b.Fatal(err)
		}
	}
	var after events.Position
	read := 0
	for b.Loop() {
		evs, err := s.ReadAll(ctx, after, page)
		if err != nil {
			b.Fatal(err)
		}
		read += len(evs)
		if len(evs) < page {
			after = 0
		} else {
			after = evs[len(evs)-1].Position
		}
	}
	reportEventsPerSecond(b, read)
}
