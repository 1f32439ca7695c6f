package domain_test

import (
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"runtime"
	"runtime/metrics"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/tellyou/tellyou/domain"
)

// benchMembers is the size of the group the benchmarks send to.
const benchMembers = 50

// benchSends makes realistic sends: senders taking turns in a group,
// clientMessageIds of 20-36 characters and random uuid messageIds. Every
// string is a fresh allocation, as it is when a frame or an event is decoded,
// so the state's memory counts whatever it keeps of them.
type benchSends struct {
	rng     *rand.Rand
	members []string
}

func newBenchSends(seed uint64) *benchSends {
	members := make([]string, benchMembers)
	for i := range members {
		members[i] = fmt.Sprintf("user-%04d", i)
	}
	return &benchSends{rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), members: members}
}

// group returns a fresh group state with the bench members.
func (g *benchSends) group(b *testing.B, p domain.Policy) *domain.Session {
	b.Helper()
	s := domain.NewSession(groupID, p)
	evs, err := domain.DecideCreateGroup(s, p, domain.CreateGroupCommand{
		SessionID: groupID, Creator: g.members[0], Title: "bench", Members: g.members[1:], Now: t0,
	})
	if err != nil {
		b.Fatal(err)
	}
	applyAll(s, evs...)
	return s
}

// next returns the i-th send of the sequence, at server time now.
func (g *benchSends) next(s *domain.Session, i int, now int64) domain.SendCommand {
	var raw [18]byte
	for j := range raw {
		raw[j] = byte(g.rng.Uint32())
	}
	var id uuid.UUID
	copy(id[:], raw[:16])
	id[6] = id[6]&0x0f | 0x40 // version 4
	id[8] = id[8]&0x3f | 0x80 // RFC 4122 variant
	cmid := hex.EncodeToString(append(raw[:], raw[:]...))[:20+i%17]
	return domain.SendCommand{
		SenderID:        strings.Clone(g.members[i%len(g.members)]),
		SessionID:       s.ID,
		MessageID:       id.String(),
		MessageType:     1,
		Content:         "hello",
		ClientMessageID: cmid,
		ClientTimestamp: now - 40,
		Now:             now,
	}
}

// fill sends n messages spread evenly over span ms and applies them.
func (g *benchSends) fill(b *testing.B, s *domain.Session, p domain.Policy, n int, span int64) {
	b.Helper()
	for i := range n {
		now := t0 + 1 + int64(i)*span/int64(n)
		_, evs, err := domain.DecideSend(s, p, g.next(s, i, now))
		if err != nil {
			b.Fatal(err)
		}
		applyAll(s, evs...)
	}
}

// heapFigures returns, after a full collection, the bytes of live heap, the
// bytes the collector scanned for pointers and the number of heap objects.
func heapFigures() (live, scan, objects uint64) {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	samples := []metrics.Sample{{Name: "/gc/scan/heap:bytes"}}
	metrics.Read(samples)
	return ms.HeapAlloc, samples[0].Value.Uint64(), ms.HeapObjects
}

// BenchmarkStateMemory fills one session state with 100,000 messages and
// reports what the state holds per message: heap bytes (B/msg), bytes the
// garbage collector scans for pointers (scanB/msg) and heap objects
// (objs/msg). "hour" spreads the messages over an hour, all inside the 24-hour
// dedup window and a few thousand inside the recall window; "minute" sends them
// within one minute, all inside the recall window, as a load test does.
func BenchmarkStateMemory(b *testing.B) {
	const n = 100_000
	for _, tc := range []struct {
		name string
		span time.Duration
	}{{"hour", time.Hour}, {"minute", time.Minute}} {
		b.Run(tc.name, func(b *testing.B) {
			p := domain.DefaultPolicy()
			var bytes, scan, objects float64
			runs := 0
			for b.Loop() {
				g := newBenchSends(uint64(runs))
				s := g.group(b, p)
				live0, scan0, objs0 := heapFigures()
				g.fill(b, s, p, n, tc.span.Milliseconds())
				live1, scan1, objs1 := heapFigures()
				runtime.KeepAlive(s)
				bytes += float64(int64(live1-live0)) / n
				scan += float64(int64(scan1-scan0)) / n
				objects += float64(int64(objs1-objs0)) / n
				runs++
			}
			b.ReportMetric(bytes/float64(runs), "B/msg")
			b.ReportMetric(scan/float64(runs), "scanB/msg")
			b.ReportMetric(objects/float64(runs), "objs/msg")
		})
	}
}

// BenchmarkDecideSend decides one send on a state that holds 100,000 messages
// of the last hour: a new message (the dedup lookup misses) and a retry (it
// hits). applied also applies the new message to the state, as the handlers
// do after the append.
func BenchmarkDecideSend(b *testing.B) {
	p := domain.DefaultPolicy()
	g := newBenchSends(1)
	s := g.group(b, p)
	g.fill(b, s, p, 100_000, time.Hour.Milliseconds())
	now := t0 + time.Hour.Milliseconds() + 1
	retry := g.next(s, 0, now)
	if _, evs, err := domain.DecideSend(s, p, retry); err != nil || len(evs) != 1 {
		b.Fatal(evs, err)
	} else {
		applyAll(s, evs...)
	}

	b.Run("new", func(b *testing.B) {
		cmd := g.next(s, 1, now)
		b.ReportAllocs()
		for b.Loop() {
			if res, _, err := domain.DecideSend(s, p, cmd); err != nil || res.Duplicate {
				b.Fatal(res, err)
			}
		}
	})
	b.Run("duplicate", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if res, _, err := domain.DecideSend(s, p, retry); err != nil || !res.Duplicate {
				b.Fatal(res, err)
			}
		}
	})
	b.Run("applied", func(b *testing.B) {
		// Includes making the command's strings, as decoding a frame does.
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			_, evs, err := domain.DecideSend(s, p, g.next(s, i, now+int64(i)))
			if err != nil || len(evs) != 1 {
				b.Fatal(evs, err)
			}
			applyAll(s, evs...)
			i++
		}
	})
}
