package storetest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/tellyou/tellyou/events"
)

// testConcurrentWritersAndLiveSubscriber runs writers that append one event at
// a time with expected versions (retrying on conflict) to streams they share,
// while a subscriber started before them reads the global log. The subscriber
// must see every event exactly once, each stream's events in version order,
// at strictly increasing positions.
func testConcurrentWritersAndLiveSubscriber(t *testing.T, s events.Store) {
	writers, perWriter := 8, 2000
	if testing.Short() {
		writers, perWriter = 4, 100
	}
	total := writers * perWriter
	st := newStreams()
	// A writer appends mostly to its own streams, often to a stream it shares
	// with one other writer, and now and then to a stream all writers share: the
	// shared streams make conflicts, the own streams make progress.
	pickStream := func(rng *rand.Rand, w int) string {
		switch n := rng.IntN(10); {
		case n == 0:
			return st.name("hot")
		case n <= 3:
			return st.name(fmt.Sprintf("pair%d-%d", w/2, rng.IntN(2)))
		default:
			return st.name(fmt.Sprintf("own%d-%d", w, rng.IntN(4)))
		}
	}

	ctx, cancel := context.WithCancel(testContext(t, 10*eventually))
	defer cancel()

	var (
		delivered   atomic.Int64
		allArrived  = make(chan struct{})
		lastVersion = map[string]int64{}
		seen        = map[uuid.UUID]bool{}
		lastPos     events.Position
	)
	subDone := make(chan error, 1)
	go func() {
		subDone <- s.Subscribe(ctx, 0, 500, func(_ context.Context, batch []events.RecordedEvent) error {
			for _, e := range batch {
				if e.Position <= lastPos {
					return fmt.Errorf("position %d delivered after %d", e.Position, lastPos)
				}
				lastPos = e.Position
				if !st.ours(e.StreamID) {
					continue
				}
				if seen[e.EventID] {
					return fmt.Errorf("event %s (%s@%d) delivered twice", e.EventID, e.StreamID, e.Version)
				}
				seen[e.EventID] = true
				if e.Version != lastVersion[e.StreamID]+1 {
					return fmt.Errorf("%s@%d delivered after version %d", e.StreamID, e.Version, lastVersion[e.StreamID])
				}
				lastVersion[e.StreamID] = e.Version
				if delivered.Add(1) == int64(total) {
					close(allArrived)
				}
			}
			return nil
		})
	}()

	start := time.Now()
	var (
		wg        sync.WaitGroup
		conflicts atomic.Int64
		appended  sync.Map // stream -> *atomic.Int64 of events appended by the writers
	)
	for w := range writers {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), uint64(time.Now().UnixNano())))
			known := map[string]int64{}
			for i := range perWriter {
				stream := pickStream(rng, w)
				ev := newEvent(fmt.Sprintf("w%d-%d", w, i))
				n, err := appendWithRetry(ctx, s, stream, known, ev)
				if err != nil {
					t.Errorf("writer %d, event %d: %v", w, i, err)
					cancel()
					return
				}
				conflicts.Add(int64(n))
				counter, _ := appended.LoadOrStore(stream, new(atomic.Int64))
				counter.(*atomic.Int64).Add(1)
			}
		})
	}
	wg.Wait()
	wrote := time.Since(start)

	select {
	case <-allArrived:
	case err := <-subDone:
		t.Fatalf("subscription ended after %d of %d events: %v", delivered.Load(), total, err)
	case <-ctx.Done():
		t.Fatalf("subscription delivered %d of %d events before the test's deadline or a writer's failure", delivered.Load(), total)
	}
	t.Logf("%d writers appended %d events in %s with %d version conflicts; subscriber had all %s after the start",
		writers, total, wrote.Round(time.Millisecond), conflicts.Load(), time.Since(start).Round(time.Millisecond))
	cancel()
	if err := <-subDone; !errors.Is(err, context.Canceled) {
		t.Fatalf("subscription returned %v after cancel, want context.Canceled", err)
	}
	// The subscriber has stopped: its maps are ours now.
	appended.Range(func(k, v any) bool {
		if got, want := lastVersion[k.(string)], v.(*atomic.Int64).Load(); got != want {
			t.Errorf("stream %s: delivered up to version %d, writers appended %d events", k, got, want)
		}
		return true
	})
}

// appendWithRetry appends ev to stream at the version known for it, and on a
// conflict learns the stream's version and tries again. It returns how many
// conflicts it met.
func appendWithRetry(ctx context.Context, s events.Store, stream string, known map[string]int64, ev events.EventData) (int, error) {
	for conflicts := 0; ; conflicts++ {
		res, err := s.Append(ctx, stream, events.ExpectedVersion(known[stream]), []events.EventData{ev})
		if err == nil {
			if res.Duplicate || res.FirstVersion != known[stream]+1 {
				return conflicts, fmt.Errorf("append at expected version %d: result %+v", known[stream], res)
			}
			known[stream] = res.LastVersion
			return conflicts, nil
		}
		if !errors.Is(err, events.ErrWrongExpectedVersion) {
			return conflicts, fmt.Errorf("append at expected version %d: %w", known[stream], err)
		}
		if known[stream], err = streamVersion(ctx, s, stream, known[stream]); err != nil {
			return conflicts, err
		}
	}
}

// streamVersion returns the version of stream's last event, reading from
// version from+1.
func streamVersion(ctx context.Context, s events.Store, stream string, from int64) (int64, error) {
	for {
		evs, err := s.ReadStream(ctx, stream, from+1, 100)
		if err != nil {
			return 0, fmt.Errorf("read version of %s: %w", stream, err)
		}
		if len(evs) == 0 {
			return from, nil
		}
		from = evs[len(evs)-1].Version
	}
}

// testConcurrentAnyVersionAppends has writers append to one stream at once
// without a version check. Every event must be stored once, and the stream's
// positions must grow with its versions, in ReadStream and in the global log.
func testConcurrentAnyVersionAppends(t *testing.T, s events.Store) {
	writers, perWriter := 8, 100
	if testing.Short() {
		writers, perWriter = 4, 25
	}
	st := newStreams()
	stream := st.name("any")
	ctx := testContext(t, 5*eventually)
	var (
		wg  sync.WaitGroup
		mu  sync.Mutex
		ids = map[uuid.UUID]bool{}
	)
	for w := range writers {
		wg.Go(func() {
			for i := range perWriter {
				evs := newEvents(1+i%3, fmt.Sprintf("w%d-%d", w, i))
				res, err := s.Append(ctx, stream, events.AnyVersion, evs)
				if err != nil || res.Duplicate || res.LastVersion-res.FirstVersion != int64(len(evs)-1) {
					t.Errorf("writer %d: append %d events: %+v, %v", w, len(evs), res, err)
					return
				}
				mu.Lock()
				for _, e := range evs {
					ids[e.EventID] = true
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}

	var stored []events.RecordedEvent
	for from := int64(1); ; {
		page := mustReadStream(t, s, stream, from, 500)
		if len(page) == 0 {
			break
		}
		stored = append(stored, page...)
		from = page[len(page)-1].Version + 1
	}
	if len(stored) != len(ids) {
		t.Fatalf("stream holds %d events, writers appended %d", len(stored), len(ids))
	}
	for i, e := range stored {
		if !ids[e.EventID] {
			t.Fatalf("stream holds unknown or repeated event %s", e.EventID)
		}
		delete(ids, e.EventID)
		if e.Version != int64(i+1) {
			t.Fatalf("event %d of the stream has version %d", i, e.Version)
		}
		if i > 0 && e.Position <= stored[i-1].Position {
			t.Fatalf("version %d at position %d, not above version %d at %d", e.Version, e.Position, i, stored[i-1].Position)
		}
	}
	all := readAllOurs(t, s, st, 0, len(stored))
	if len(all) != len(stored) {
		t.Fatalf("global log holds %d events of the stream, want %d", len(all), len(stored))
	}
	for i := range all {
		if all[i].EventID != stored[i].EventID {
			t.Fatalf("global log event %d is %s, the stream's is %s", i, all[i].EventID, stored[i].EventID)
		}
	}
}
