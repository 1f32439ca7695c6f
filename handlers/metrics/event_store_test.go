package metrics_test

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/google/uuid"
	dto "github.com/prometheus/client_model/go"

	"github.com/tellyou/tellyou/events"
	"github.com/tellyou/tellyou/events/pgstore"
	"github.com/tellyou/tellyou/events/pgstore/pgtest"
	"github.com/tellyou/tellyou/events/storetest"
	"github.com/tellyou/tellyou/handlers/metrics"
)

// newPGStore opens the real PostgreSQL store on a fresh database with a small
// pool (the test server's connections are shared).
func newPGStore(t *testing.T) *pgstore.Store {
	t.Helper()
	ctx := context.Background()
	pool := pgtest.NewPoolOf(t, 4)
	if err := pgstore.Migrate(ctx, pool); err != nil {
		t.Fatal(err)
	}
	store, err := pgstore.New(ctx, pool, pgstore.Config{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(store.Close)
	return store
}

func newEvent(typ string) events.EventData {
	return events.EventData{EventID: uuid.New(), Type: typ, Data: []byte(`{"n":1}`), Metadata: []byte(`{}`)}
}

// sample finds the metric of family name whose labels include every pair of
// labels; it fails the test when there is none.
func sample(t *testing.T, m *metrics.Metrics, name string, labels ...string) *dto.Metric {
	t.Helper()
	families, err := m.Registry.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
	metrics:
		for _, metric := range f.GetMetric() {
			have := map[string]string{}
			for _, lp := range metric.GetLabel() {
				have[lp.GetName()] = lp.GetValue()
			}
			for i := 0; i+1 < len(labels); i += 2 {
				if have[labels[i]] != labels[i+1] {
					continue metrics
				}
			}
			return metric
		}
	}
	t.Fatalf("no %s%v in the registry", name, labels)
	return nil
}

func appendCount(t *testing.T, m *metrics.Metrics) uint64 {
	t.Helper()
	return sample(t, m, "tellyou_event_store_append_seconds").GetHistogram().GetSampleCount()
}

func readCount(t *testing.T, m *metrics.Metrics, op string) uint64 {
	t.Helper()
	return sample(t, m, "tellyou_event_store_read_seconds", "operation", op).GetHistogram().GetSampleCount()
}

func failures(t *testing.T, m *metrics.Metrics, op, reason string) float64 {
	t.Helper()
	return sample(t, m, "tellyou_event_store_errors_total", "operation", op, "reason", reason).GetCounter().GetValue()
}

func appended(t *testing.T, m *metrics.Metrics) float64 {
	t.Helper()
	return sample(t, m, "tellyou_event_store_appended_events_total").GetCounter().GetValue()
}

func TestNewInstrumentedStoreRefusesNil(t *testing.T) {
	t.Parallel()
	if _, err := metrics.NewInstrumentedStore(nil, metrics.New()); err == nil {
		t.Error("a nil store was accepted")
	}
	if _, err := metrics.NewInstrumentedStore(&metrics.InstrumentedStore{}, nil); err == nil {
		t.Error("nil metrics were accepted")
	}
}

// TestInstrumentedStoreMeasuresAppends drives the real PostgreSQL store
// through the decorator and reads the instruments back from the registry.
func TestInstrumentedStoreMeasuresAppends(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	m := metrics.New()
	store, err := metrics.NewInstrumentedStore(newPGStore(t), m)
	if err != nil {
		t.Fatal(err)
	}
	for _, reason := range []string{metrics.ReasonConflict, metrics.ReasonDuplicateEventID, metrics.ReasonCanceled, metrics.ReasonError} {
		if got := failures(t, m, metrics.OpAppend, reason); got != 0 {
			t.Fatalf("append %s failures before any append = %v", reason, got)
		}
	}

	batch := []events.EventData{newEvent("A"), newEvent("B"), newEvent("C")}
	res, err := store.Append(ctx, "s-1", events.NoStream, batch)
	if err != nil {
		t.Fatal(err)
	}
	if res.FirstVersion != 1 || res.LastVersion != 3 || res.Duplicate {
		t.Fatalf("append result %+v, want versions 1-3, not a duplicate", res)
	}
	if got := appendCount(t, m); got != 1 {
		t.Fatalf("append durations observed = %d, want 1", got)
	}
	if got := appended(t, m); got != 3 {
		t.Fatalf("appended events = %v, want 3", got)
	}

	// A retry of the same events writes nothing: timed, not counted as written.
	again, err := store.Append(ctx, "s-1", events.NoStream, batch)
	if err != nil || !again.Duplicate || again.LastVersion != 3 {
		t.Fatalf("retried append: %+v, %v; want the duplicate of versions 1-3", again, err)
	}
	if got := appended(t, m); got != 3 {
		t.Fatalf("appended events after a duplicate = %v, want still 3", got)
	}

	// Failures keep the wrapped store's error and count by reason.
	_, err = store.Append(ctx, "s-1", events.ExpectedVersion(1), []events.EventData{newEvent("D")})
	var conflict *events.VersionConflictError
	if !errors.As(err, &conflict) || conflict.Actual != 3 {
		t.Fatalf("append at a stale version: %v, want the store's VersionConflictError at version 3", err)
	}
	reused := batch[0]
	if _, err := store.Append(ctx, "s-2", events.AnyVersion, []events.EventData{reused}); !errors.Is(err, events.ErrDuplicateEventID) {
		t.Fatalf("event id reused in another stream: %v, want ErrDuplicateEventID", err)
	}
	if _, err := store.Append(ctx, "", events.AnyVersion, []events.EventData{newEvent("E")}); err == nil {
		t.Fatal("an append to an empty stream id succeeded")
	}
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := store.Append(canceled, "s-3", events.AnyVersion, []events.EventData{newEvent("F")}); err == nil {
		t.Fatal("an append with a canceled context succeeded")
	}
	want := map[string]float64{
		metrics.ReasonConflict: 1, metrics.ReasonDuplicateEventID: 1, metrics.ReasonError: 1, metrics.ReasonCanceled: 1,
	}
	for reason, n := range want {
		if got := failures(t, m, metrics.OpAppend, reason); got != n {
			t.Errorf("append failures %s = %v, want %v", reason, got, n)
		}
	}
	if got := appendCount(t, m); got != 6 {
		t.Errorf("append durations observed = %d, want 6 (every call, failed or not)", got)
	}
	if got := appended(t, m); got != 3 {
		t.Errorf("appended events after failures = %v, want still 3", got)
	}
	durations := sample(t, m, "tellyou_event_store_append_seconds").GetHistogram()
	if durations.GetSampleSum() <= 0 {
		t.Errorf("append durations sum to %v s, want more than 0", durations.GetSampleSum())
	}
}

// TestInstrumentedStoreMeasuresReads checks that reads return the wrapped
// store's answers and are timed by operation.
func TestInstrumentedStoreMeasuresReads(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	m := metrics.New()
	pg := newPGStore(t)
	store, err := metrics.NewInstrumentedStore(pg, m)
	if err != nil {
		t.Fatal(err)
	}
	res, err := store.Append(ctx, "s", events.NoStream, []events.EventData{newEvent("A"), newEvent("B")})
	if err != nil {
		t.Fatal(err)
	}

	recs, err := store.ReadStream(ctx, "s", 2, 10)
	if err != nil || len(recs) != 1 || recs[0].Type != "B" {
		t.Fatalf("ReadStream from version 2: %+v, %v; want event B", recs, err)
	}
	var all []events.RecordedEvent
	deadline := time.Now().Add(30 * time.Second)
	for len(all) < 2 && time.Now().Before(deadline) {
		// The global log shows the events once their place in it is final.
		if all, err = store.ReadAll(ctx, 0, 10); err != nil {
			t.Fatal(err)
		}
	}
	if len(all) != 2 || all[1].Position != res.Position {
		t.Fatalf("ReadAll: %d events, want 2 ending at position %d", len(all), res.Position)
	}
	head, err := store.Head(ctx)
	if err != nil || head != res.Position {
		t.Fatalf("Head = %d, %v; want %d", head, err, res.Position)
	}
	if got := readCount(t, m, metrics.OpReadStream); got != 1 {
		t.Errorf("read_stream durations = %d, want 1", got)
	}
	if got := readCount(t, m, metrics.OpReadAll); got < 1 {
		t.Errorf("read_all durations = %d, want at least 1", got)
	}
	if got := readCount(t, m, metrics.OpHead); got != 1 {
		t.Errorf("head durations = %d, want 1", got)
	}

	canceled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := store.ReadStream(canceled, "s", 1, 10); err == nil {
		t.Fatal("ReadStream with a canceled context succeeded")
	}
	if got := failures(t, m, metrics.OpReadStream, metrics.ReasonCanceled); got != 1 {
		t.Errorf("read_stream canceled failures = %v, want 1", got)
	}
	if got := failures(t, m, metrics.OpReadStream, metrics.ReasonError); got != 0 {
		t.Errorf("read_stream other failures = %v, want 0", got)
	}

	// Subscribe passes through: it delivers the log and stops with its context.
	subCtx, stop := context.WithCancel(ctx)
	defer stop()
	got := make(chan []events.RecordedEvent, 1)
	err = store.Subscribe(subCtx, 0, 10, func(_ context.Context, batch []events.RecordedEvent) error {
		got <- batch
		stop()
		return nil
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Subscribe ended with %v, want its context's cancellation", err)
	}
	if batch := <-got; len(batch) != 2 || batch[0].Type != "A" {
		t.Fatalf("Subscribe delivered %+v, want events A and B", batch)
	}
}

// TestInstrumentedStorePassesConformance runs the event-store conformance
// suite on the decorator over the PostgreSQL store: wrapping changes no
// guarantee. The subtests share one database (the suite names its streams
// apart) to keep the test server's connections few.
func TestInstrumentedStorePassesConformance(t *testing.T) {
	m := metrics.New()
	store, err := metrics.NewInstrumentedStore(newPGStore(t), m)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("suite", func(t *testing.T) {
		storetest.Run(t, func(*testing.T) events.Store { return store })
	})
	if got := appendCount(t, m); got == 0 {
		t.Error("the suite's appends were not timed")
	}
	if got := failures(t, m, metrics.OpAppend, metrics.ReasonConflict); got == 0 {
		t.Errorf("the suite's expected-version conflicts were not counted (%v)", got)
	}
}
