package main

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/tellyou/tellyou/events"
	"github.com/tellyou/tellyou/events/pgstore"
	"github.com/tellyou/tellyou/handlers/feedbus"
	"github.com/tellyou/tellyou/handlers/feedbus/feedbustest"
)

func natsURL() string { return feedbustest.NATSURL() }

// feedEnv is a real event store in a database of its own, and a relay
// publishing it to a feed stream of its own on the test NATS server.
type feedEnv struct {
	store *pgstore.Store
	feed  *feedbus.NATSFeed
	seqs  map[string]int64
}

func newFeedEnv(t *testing.T) *feedEnv {
	t.Helper()
	e := feedbustest.New(t, "analytics")
	relay, err := feedbus.NewRelay(feedbus.RelayConfig{Store: e.Store, Pool: e.Pool, Publisher: e.Feed.Publisher(),
		Topic: e.Feed.Topic(), LeaseRetry: 50 * time.Millisecond, Logger: feedbustest.Logger(t)})
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { _ = relay.Run(runCtx) })
	t.Cleanup(func() { stop(); wg.Wait() })
	return &feedEnv{store: e.Store, feed: e.Feed, seqs: map[string]int64{}}
}

// append appends one event to session, occurring at ms.
func (e *feedEnv) append(t *testing.T, session string, p events.Payload, ms int64) {
	t.Helper()
	ed, err := events.Encode(events.Envelope{Meta: events.Metadata{Actor: "ann", OccurredAt: ms}, Payload: p})
	if err != nil {
		t.Fatal(err)
	}
	v := e.seqs[session]
	if _, err := e.store.Append(context.Background(), session, events.ExpectedVersion(v), []events.EventData{ed}); err != nil {
		t.Fatal(err)
	}
	e.seqs[session] = v + 1
}

func (e *feedEnv) send(t *testing.T, session string, ms int64) {
	t.Helper()
	e.append(t, session, events.MessageSent{SessionID: session, MessageID: uuid.NewString(), Seq: e.seqs[session] + 1,
		SenderID: "ann", MessageType: 1, Content: "hi", ServerTimestamp: ms, AdjustedTimestamp: ms}, ms)
}

// waitForStream waits until the feed's stream holds n messages.
func (e *feedEnv) waitForStream(t *testing.T, n int) {
	t.Helper()
	feedbustest.WaitForStream(t, e.feed, n, patience)
}

// consumeAll runs the consumer until the server says it has acked the
// stream's last message, then stops it and returns its counts and output.
func consumeAll(t *testing.T, e *feedEnv, durable string) (*Counts, string) {
	t.Helper()
	var out bytes.Buffer
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	type result struct {
		counts *Counts
		err    error
	}
	done := make(chan result, 1)
	cfg := config{NATSURL: natsURL(), Topic: e.feed.Topic(), Durable: durable, Every: time.Hour, AckWait: time.Second}
	go func() {
		c, err := run(ctx, cfg, &out, feedbustest.Logger(t))
		done <- result{c, err}
	}()
	s, err := e.feed.JetStream().Stream(context.Background(), e.feed.Stream())
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(patience)
	for {
		c, err := s.Consumer(context.Background(), durable)
		if err == nil {
			ci, err := c.Info(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if ci.AckFloor.Stream == info.State.LastSeq {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("consumer %s did not ack up to %d in %v", durable, info.State.LastSeq, patience)
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	r := <-done
	if r.err != nil {
		t.Fatal(r.err)
	}
	return r.counts, out.String()
}

func TestConsumerCountsTheFeedAndResumesWhereItLeftOff(t *testing.T) {
	t.Parallel()
	e := newFeedEnv(t)
	// 2023-11-14 22:13:00 UTC and the next minute.
	const m0, m1 = int64(1699999980000), int64(1700000040000)
	e.append(t, "d:ann:bob", events.SessionCreated{SessionID: "d:ann:bob", Kind: events.KindDirect, Members: []string{"ann", "bob"}}, m0)
	e.send(t, "d:ann:bob", m0+1)
	e.send(t, "d:ann:bob", m0+2)
	e.send(t, "g:team", m0+3)
	e.send(t, "d:ann:bob", m1)
	e.append(t, "d:ann:bob", events.MessageRecalled{SessionID: "d:ann:bob", MessageID: "x", Seq: 3, By: "ann"}, m1+1)
	e.append(t, "d:ann:bob", events.MessagesRead{SessionID: "d:ann:bob", UserID: "bob", UpToSeq: 3}, m1+2)
	e.waitForStream(t, 7)

	counts, out := consumeAll(t, e, "counter")
	if ok, _ := counts.Add(event("g:team", 1, "MessageSent", m0)); ok {
		t.Fatal("the counts took g:team@1 again after the run had counted it")
	}
	want := "" +
		"      minute (UTC)    session  sent  recalled\n" +
		"  2023-11-14 22:13  d:ann:bob     2         0\n" +
		"  2023-11-14 22:13     g:team     1         0\n" +
		"  2023-11-14 22:14  d:ann:bob     1         1\n" +
		"             total                4         1\n"
	if !strings.HasSuffix(out, want) {
		t.Fatalf("first run printed:\n%s\nwant it to end with:\n%s", out, want)
	}

	// A second run under the same name sees only what came since.
	e.send(t, "g:team", m1+5)
	e.send(t, "g:team", m1+6)
	e.waitForStream(t, 9)
	_, out = consumeAll(t, e, "counter")
	want = "" +
		"      minute (UTC)  session  sent  recalled\n" +
		"  2023-11-14 22:14   g:team     2         0\n" +
		"             total              2         0\n"
	if !strings.HasSuffix(out, want) {
		t.Fatalf("second run printed:\n%s\nwant it to end with:\n%s", out, want)
	}

	// Another name starts from the beginning of the stream.
	_, out = consumeAll(t, e, "fresh")
	want = "" +
		"      minute (UTC)    session  sent  recalled\n" +
		"  2023-11-14 22:13  d:ann:bob     2         0\n" +
		"  2023-11-14 22:13     g:team     1         0\n" +
		"  2023-11-14 22:14  d:ann:bob     1         1\n" +
		"  2023-11-14 22:14     g:team     2         0\n" +
		"             total                6         1\n"
	if !strings.HasSuffix(out, want) {
		t.Fatalf("a new consumer printed:\n%s\nwant it to end with:\n%s", out, want)
	}
}

// patience bounds every wait of these tests. Readers of the global log wait
// for the oldest write transaction on the whole PostgreSQL server, which
// other databases' clients may hold open for a while.
const patience = 90 * time.Second
