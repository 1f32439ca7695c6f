package delivery_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/pubsub/gochannel"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/tellyou/tellyou/events"
	"github.com/tellyou/tellyou/events/pgstore"
	"github.com/tellyou/tellyou/events/pgstore/pgtest"
	"github.com/tellyou/tellyou/handlers/delivery"
	"github.com/tellyou/tellyou/handlers/delivery/deliverytest"
	"github.com/tellyou/tellyou/handlers/metrics"
)

// TestFastPathAndFollowerDeliverEachEventOnce appends messages to several
// sessions at once and hands every append to the hub's fast path, while the
// follower reads the same events from the log: each message reaches the
// recipient's connection once, in seq order, and the follower's copies are
// all recognised.
func TestFastPathAndFollowerDeliverEachEventOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	bob := e.connect("bob")
	const sessions, each = 8, 40
	var wg sync.WaitGroup
	for s := range sessions {
		wg.Go(func() {
			w := e.writer(fmt.Sprintf("d:a%02d:bob", s))
			for range each {
				w.send(t, fmt.Sprintf("a%02d", s), e.hub.Committed)
			}
		})
	}
	wg.Wait()
	got := bob.await(t, sessions*each)
	checkOnceInOrder(t, got, sessions, each)
	// Each session is one SessionCreated and its messages.
	const events = sessions * (each + 1)
	// Every event is delivered once, by whichever path came first (nearly
	// always the fast path), and dropped once as the other path's copy.
	waitFor(t, "every event twice", func() bool {
		return total(e.metrics, "delivered")+total(e.metrics, "repeated") == 2*events
	})
	bob.none(t)
	if d, r := total(e.metrics, "delivered"), total(e.metrics, "repeated"); d != events || r != events {
		t.Fatalf("%d events delivered and %d dropped as copies, want %d of each", d, r, events)
	}
	if counter(e.metrics, "fast", "delivered") < events/2 {
		t.Fatalf("only %d of %d events came by the fast path", counter(e.metrics, "fast", "delivered"), events)
	}
}

// TestFollowerAloneDeliversEverything switches the fast path off: the
// follower delivers every message, once, in order.
func TestFollowerAloneDeliversEverything(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	bob := e.connect("bob")
	const sessions, each = 4, 30
	for s := range sessions {
		w := e.writer(fmt.Sprintf("d:a%02d:bob", s))
		for range each {
			w.send(t, fmt.Sprintf("a%02d", s), nil)
		}
	}
	checkOnceInOrder(t, bob.await(t, sessions*each), sessions, each)
	bob.none(t)
}

// TestFastPathHoldsEventsUntilTheOnesBefore drops every third append from
// the fast path (as a full inbox or a lost bus message would): the events
// after a dropped one wait for the follower to deliver it, so the connection
// still gets every message once, in order.
func TestFastPathHoldsEventsUntilTheOnesBefore(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	bob := e.connect("bob")
	w := e.writer("d:ann:bob")
	for i := range 60 {
		hand := e.hub.Committed
		if i%3 == 1 {
			hand = nil
		}
		w.send(t, "ann", hand)
	}
	checkOnceInOrder(t, bob.await(t, 60), 1, 60)
	bob.none(t)
}

// TestBusDeliversAnotherNodesAppends runs two hubs on one database and one
// bus: node a's appends reach node b's connection by the bus and by b's own
// follower, once each message, in order.
func TestBusDeliversAnotherNodesAppends(t *testing.T) {
	t.Parallel()
	bus := gochannel.NewGoChannel(gochannel.Config{OutputChannelBuffer: 1024}, watermill.NopLogger{})
	t.Cleanup(func() { _ = bus.Close() })
	a := newEnv(t, envOptions{bus: bus})
	b := newEnv(t, envOptions{bus: bus, pool: a.pool})
	bobOnB := b.connect("bob")
	const sessions, each = 4, 25
	var wg sync.WaitGroup
	for s := range sessions {
		wg.Go(func() {
			w := a.writer(fmt.Sprintf("d:a%02d:bob", s))
			for range each {
				w.send(t, fmt.Sprintf("a%02d", s), a.hub.Committed)
			}
		})
	}
	wg.Wait()
	checkOnceInOrder(t, bobOnB.await(t, sessions*each), sessions, each)
	const events = sessions * (each + 1)
	waitFor(t, "b to see every event twice", func() bool {
		return total(b.metrics, "delivered")+total(b.metrics, "repeated") == 2*events
	})
	if d := total(b.metrics, "delivered"); d != events {
		t.Fatalf("b delivered %d events, want %d", d, events)
	}
	bobOnB.none(t)
	if n := counter(b.metrics, "bus", "delivered"); n == 0 {
		t.Fatal("nothing reached node b by the bus")
	}
}

// TestNoRedeliveryToAConnectionThatIsBehind: a connection with bytes queued
// is reading what it was sent; it gets nothing again until it has caught up
// and then had a whole timeout to ack.
func TestNoRedeliveryToAConnectionThatIsBehind(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{opts: delivery.Options{RedeliveryTimeout: 200 * time.Millisecond}})
	bob := e.connect("bob")
	bob.queued.Store(1 << 20) // behind
	e.writer("d:ann:bob").send(t, "ann", e.hub.Committed)
	bob.await(t, 1)
	time.Sleep(time.Second) // five timeouts, all while behind
	if n := testutil.ToFloat64(e.metrics.Redeliveries); n != 0 {
		t.Fatalf("%v redeliveries to a connection that is behind", n)
	}
	bob.queued.Store(0) // caught up
	waitFor(t, "a redelivery once the connection caught up", func() bool {
		return testutil.ToFloat64(e.metrics.Redeliveries) >= 1
	})
}

// --- test environment ---

type envOptions struct {
	opts delivery.Options
	bus  delivery.Bus
	// pool, when set, is the database of another node to share.
	pool *pgxpool.Pool
}

type env struct {
	pool    *pgxpool.Pool
	store   *pgstore.Store
	hub     *delivery.Hub
	metrics *metrics.Metrics
}

func newEnv(t *testing.T, o envOptions) *env {
	t.Helper()
	ctx := context.Background()
	pool := o.pool
	if pool == nil {
		pool = pgtest.NewPool(t)
		if err := pgstore.Migrate(ctx, pool); err != nil {
			t.Fatal(err)
		}
	}
	logger := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	store, err := pgstore.New(ctx, pool, pgstore.Config{Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(store.Close)
	m := metrics.New()
	hub := deliverytest.Run(t, deliverytest.Config{Store: store, Members: noGroups{}, Metrics: m, Options: o.opts, Bus: o.bus, Logger: logger})
	return &env{pool: pool, store: store, hub: hub, metrics: m}
}

// noGroups answers member lookups: the tests use direct sessions only.
type noGroups struct{}

func (noGroups) Members(context.Context, string) ([]string, error) {
	return nil, fmt.Errorf("no groups in these tests")
}

// writer appends messages to one direct session, as the command handlers
// do: in version order, each append's result handed to a fast path.
type writer struct {
	e       *env
	session string
	version int64
	seq     int64
	prev    events.Position
}

func (e *env) writer(session string) *writer { return &writer{e: e, session: session} }

// send appends the next message from sender and hands the committed append
// to fastPath (none when nil).
func (w *writer) send(t *testing.T, sender string, fastPath func(events.Committed)) {
	t.Helper()
	var envs []events.Envelope
	if w.version == 0 {
		a, b := sender, "bob"
		envs = append(envs, events.Envelope{Meta: meta(sender), Payload: events.SessionCreated{SessionID: w.session,
			Kind: events.KindDirect, Members: []string{a, b}, CreatedAt: 1}})
	}
	w.seq++
	seq := w.seq
	envs = append(envs, events.Envelope{Meta: meta(sender), Payload: events.MessageSent{SessionID: w.session,
		MessageID: uuid.NewString(), Seq: seq, SenderID: sender, MessageType: 1, Content: "hi",
		ClientMessageID: uuid.NewString(), ServerTimestamp: time.Now().UnixMilli()}})
	data := make([]events.EventData, len(envs))
	for i, env := range envs {
		d, err := events.Encode(env)
		if err != nil {
			t.Fatal(err)
		}
		envs[i].Meta.EventID = d.EventID
		data[i] = d
	}
	res, err := w.e.store.Append(context.Background(), w.session, events.ExpectedVersion(w.version), data)
	if err != nil {
		t.Fatal(err)
	}
	if fastPath != nil {
		fastPath(events.Committed{StreamID: w.session, FirstVersion: res.FirstVersion, Position: res.Position,
			Prev: w.prev, Events: data, Envelopes: envs})
	}
	w.version, w.prev = res.LastVersion, res.Position
}

func meta(actor string) events.Metadata {
	return events.Metadata{Actor: actor, OccurredAt: time.Now().UnixMilli()}
}

// conn is a connection's outbox that records what it is pushed.
type conn struct {
	frames chan []byte
	queued atomic.Int64
}

func (e *env) connect(user string) *conn {
	c := &conn{frames: make(chan []byte, 10000)}
	e.hub.Register(user, c)
	return c
}

func (c *conn) Enqueue(frame []byte) bool {
	c.frames <- frame
	return true
}

func (c *conn) Queued() int { return int(c.queued.Load()) }

type pushed struct {
	Type    string `json:"type"`
	Message struct {
		SessionID string `json:"sessionId"`
		Seq       int64  `json:"seq"`
	} `json:"message"`
}

func (c *conn) await(t *testing.T, n int) []pushed {
	t.Helper()
	var out []pushed
	for len(out) < n {
		select {
		case f := <-c.frames:
			var p pushed
			if err := json.Unmarshal(f, &p); err != nil {
				t.Fatal(err)
			}
			if p.Type == "message" {
				out = append(out, p)
			}
		case <-time.After(time.Minute):
			t.Fatalf("got %d of %d pushes", len(out), n)
		}
	}
	return out
}

// none checks that no further message is pushed for a moment.
func (c *conn) none(t *testing.T) {
	t.Helper()
	deadline := time.After(300 * time.Millisecond)
	for {
		select {
		case f := <-c.frames:
			var p pushed
			_ = json.Unmarshal(f, &p)
			if p.Type == "message" {
				t.Fatalf("unexpected push: %s", f)
			}
		case <-deadline:
			return
		}
	}
}

// checkOnceInOrder checks that got holds seqs 1..each of each session once,
// in order per session.
func checkOnceInOrder(t *testing.T, got []pushed, sessions, each int) {
	t.Helper()
	next := map[string]int64{}
	for _, p := range got {
		s := p.Message.SessionID
		if p.Message.Seq != next[s]+1 {
			t.Fatalf("%s: seq %d after %d", s, p.Message.Seq, next[s])
		}
		next[s] = p.Message.Seq
	}
	if len(next) != sessions {
		t.Fatalf("messages of %d sessions, want %d", len(next), sessions)
	}
	for s, last := range next {
		if last != int64(each) {
			t.Fatalf("%s: last seq %d, want %d", s, last, each)
		}
	}
}

// total counts an outcome over every source.
func total(m *metrics.Metrics, outcome string) int {
	return counter(m, "fast", outcome) + counter(m, "bus", outcome) + counter(m, "log", outcome)
}

func counter(m *metrics.Metrics, source, outcome string) int {
	return int(testutil.ToFloat64(m.DeliveryEvents.WithLabelValues(source, outcome)))
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("no %s after a minute", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(string(p))
	return len(p), nil
}
