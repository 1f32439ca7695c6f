package push_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/pubsub/gochannel"
	"github.com/google/uuid"

	"github.com/tellyou/tellyou/events"
	"github.com/tellyou/tellyou/handlers/metrics"
	"github.com/tellyou/tellyou/handlers/push"
	"github.com/tellyou/tellyou/handlers/wire"
)

// hubEnv runs a hub on a GoChannel that blocks each Publish until the hub
// has handled the message, so every assertion after a publish is final.
type hubEnv struct {
	t       *testing.T
	bus     *gochannel.GoChannel
	hub     *push.Hub
	metrics *metrics.Metrics
	lookups atomic.Int64
	version map[string]int64
	// stop ends the hub's Run and returns its error; it is safe to call
	// more than once.
	stop func() error
	// finished is closed when Run has returned runErr.
	finished chan struct{}
	runErr   error
}

func newHubEnv(t *testing.T, opts push.Options) *hubEnv {
	return newHubEnvWith(t, opts, nil)
}

// newHubEnvWith runs a hub whose member lookups go to members, or, when it
// is nil, always answer ann and bob.
func newHubEnvWith(t *testing.T, opts push.Options, members push.Members) *hubEnv {
	t.Helper()
	e := &hubEnv{t: t, version: map[string]int64{}, metrics: metrics.New(),
		bus: gochannel.NewGoChannel(gochannel.Config{BlockPublishUntilSubscriberAck: true}, watermill.NopLogger{})}
	if members == nil {
		members = membersFunc(func(context.Context, string) ([]string, error) {
			return []string{"ann", "bob"}, nil
		})
	}
	counted := membersFunc(func(ctx context.Context, sessionID string) ([]string, error) {
		e.lookups.Add(1)
		return members.Members(ctx, sessionID)
	})
	hub, err := push.NewHub(push.HubConfig{Options: opts, Subscriber: e.bus, Publisher: e.bus,
		Members: counted, Metrics: e.metrics, Logger: slog.New(slog.NewTextHandler(testWriter{t}, nil))})
	if err != nil {
		t.Fatal(err)
	}
	e.hub = hub
	ctx, cancel := context.WithCancel(context.Background())
	e.finished = make(chan struct{})
	go func() {
		defer close(e.finished)
		e.runErr = hub.Run(ctx)
	}()
	select {
	case <-hub.Ready():
	case <-e.finished:
		t.Fatal(e.runErr)
	}
	e.stop = func() error {
		cancel()
		<-e.finished
		return e.runErr
	}
	t.Cleanup(func() {
		if err := e.stop(); err != nil {
			t.Error(err)
		}
		_ = e.bus.Close()
	})
	return e
}

// testWriter sends a log to the test's log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}

type membersFunc func(ctx context.Context, sessionID string) ([]string, error)

func (f membersFunc) Members(ctx context.Context, sessionID string) ([]string, error) {
	return f(ctx, sessionID)
}

// publish appends p to the session's pretend stream and publishes it as the
// follower does: wire.AuditEvent JSON, the event id as message id.
func (e *hubEnv) publish(sessionID string, p events.Payload) *message.Message {
	e.t.Helper()
	m := e.message(sessionID, p)
	e.republish(m)
	return m
}

// message makes the bus message of p as the next event of the session's
// pretend stream.
func (e *hubEnv) message(sessionID string, p events.Payload) *message.Message {
	e.t.Helper()
	e.version[sessionID]++
	d, err := events.Encode(events.Envelope{Meta: events.Metadata{Actor: "ann", OccurredAt: time.Now().UnixMilli()}, Payload: p})
	if err != nil {
		e.t.Fatal(err)
	}
	r := events.RecordedEvent{StreamID: sessionID, Version: e.version[sessionID], Position: events.Position(e.version[sessionID]),
		EventID: d.EventID, Type: d.Type, Data: d.Data, Metadata: d.Metadata}
	payload, err := json.Marshal(wire.NewAuditEvent(r))
	if err != nil {
		e.t.Fatal(err)
	}
	return message.NewMessage(d.EventID.String(), payload)
}

func (e *hubEnv) republish(m *message.Message) {
	e.t.Helper()
	if err := e.bus.Publish(push.DefaultEventsTopic, m); err != nil {
		e.t.Fatal(err)
	}
}

// outbox records frames; with room set it refuses frames past it.
type outbox struct {
	mu     sync.Mutex
	frames []map[string]any
	room   int
}

func (o *outbox) Queued() int { return 0 }

func (o *outbox) Enqueue(frame []byte) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.room > 0 && len(o.frames) >= o.room {
		return false
	}
	var f map[string]any
	if err := json.Unmarshal(frame, &f); err != nil {
		panic(err)
	}
	o.frames = append(o.frames, f)
	return true
}

// seqs lists the seqs of the message frames, in order.
func (o *outbox) seqs() []int64 {
	o.mu.Lock()
	defer o.mu.Unlock()
	var out []int64
	for _, f := range o.frames {
		if f["type"] == "message" {
			out = append(out, int64(f["message"].(map[string]any)["seq"].(float64)))
		}
	}
	return out
}

// seqsBySession lists the seqs of the message frames of each session, in
// order.
func (o *outbox) seqsBySession() map[string][]int64 {
	o.mu.Lock()
	defer o.mu.Unlock()
	out := map[string][]int64{}
	for _, f := range o.frames {
		if f["type"] == "message" {
			m := f["message"].(map[string]any)
			out[m["sessionId"].(string)] = append(out[m["sessionId"].(string)], int64(m["seq"].(float64)))
		}
	}
	return out
}

func (o *outbox) types() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	var out []string
	for _, f := range o.frames {
		out = append(out, f["type"].(string))
	}
	return out
}

func sent(sessionID string, seq int64, sender string) events.MessageSent {
	return events.MessageSent{SessionID: sessionID, MessageID: uuid.NewString(), Seq: seq, SenderID: sender,
		MessageType: 1, Content: fmt.Sprint("m", seq), ClientMessageID: fmt.Sprint("c", seq)}
}

func TestHubDropsCopiesOfEventsItHandled(t *testing.T) {
	t.Parallel()
	e := newHubEnv(t, push.Options{})
	bob := &outbox{}
	e.hub.Register("bob", bob)
	g := "g:" + uuid.NewString()
	e.publish(g, events.SessionCreated{SessionID: g, Kind: events.KindGroup, Owner: "ann", Members: []string{"ann", "bob", "carl"}})
	first := e.publish(g, sent(g, 1, "ann"))
	e.republish(first) // at-least-once: the bus delivers it again
	e.publish(g, sent(g, 2, "ann"))
	e.republish(first)
	if got := bob.seqs(); fmt.Sprint(got) != "[1 2]" {
		t.Fatalf("bob got seqs %v, want [1 2]", got)
	}
	if n := e.lookups.Load(); n != 0 {
		t.Fatalf("%d member lookups for a session whose creation the hub saw", n)
	}
}

func TestHubFollowsMembershipEvents(t *testing.T) {
	t.Parallel()
	e := newHubEnv(t, push.Options{})
	bob, carl := &outbox{}, &outbox{}
	e.hub.Register("bob", bob)
	e.hub.Register("carl", carl)
	g := "g:" + uuid.NewString()
	e.publish(g, sent(g, 1, "ann")) // created before the hub listened: looked up (ann, bob)
	e.publish(g, events.MembersAdded{SessionID: g, Members: []string{"carl"}, By: "ann", AtSeq: 1})
	e.publish(g, sent(g, 2, "ann"))
	e.publish(g, events.MembersRemoved{SessionID: g, Members: []string{"bob"}, By: "ann"})
	e.publish(g, sent(g, 3, "ann"))
	if got := bob.seqs(); fmt.Sprint(got) != "[1 2]" {
		t.Fatalf("bob got %v", got)
	}
	if got := carl.seqs(); fmt.Sprint(got) != "[2 3]" {
		t.Fatalf("carl got %v", got)
	}
	if n := e.lookups.Load(); n != 1 {
		t.Fatalf("%d member lookups, want 1", n)
	}
}

func TestHubDoesNotWaitForAFullOutbox(t *testing.T) {
	t.Parallel()
	e := newHubEnv(t, push.Options{})
	full, open := &outbox{room: 2}, &outbox{}
	e.hub.Register("bob", full)
	e.hub.Register("bob", open)
	d := "d:ann:bob"
	for seq := int64(1); seq <= 10; seq++ {
		e.publish(d, sent(d, seq, "ann"))
	}
	if got := open.seqs(); len(got) != 10 {
		t.Fatalf("the other device got %v", got)
	}
	if got := full.seqs(); fmt.Sprint(got) != "[1 2]" {
		t.Fatalf("the full outbox got %v", got)
	}
}

func TestHubSkipsTheSendingConnectionAndRoutesReceipts(t *testing.T) {
	t.Parallel()
	e := newHubEnv(t, push.Options{})
	annSending, annOther, bob := &outbox{}, &outbox{}, &outbox{}
	sender := e.hub.Register("ann", annSending)
	e.hub.Register("ann", annOther)
	e.hub.Register("bob", bob)
	d := "d:ann:bob"
	sender.BeginSend("c1")
	e.publish(d, sent(d, 1, "ann"))
	e.publish(d, sent(d, 2, "ann")) // c2 was sent from elsewhere
	e.publish(d, events.MessagesReceived{SessionID: d, UserID: "bob", UpToSeq: 2})
	e.publish(d, events.MessageRecalled{SessionID: d, MessageID: "m", Seq: 1, By: "ann"})
	if got := fmt.Sprint(annSending.types()); got != "[message receipt recalled]" {
		t.Fatalf("sending connection got %s", got)
	}
	if got := fmt.Sprint(annOther.types()); got != "[message message receipt recalled]" {
		t.Fatalf("other device got %s", got)
	}
	if got := fmt.Sprint(bob.types()); got != "[message message recalled]" {
		t.Fatalf("bob got %s (no receipt of his own ack)", got)
	}
}

func TestHubRedeliversUntilAcked(t *testing.T) {
	t.Parallel()
	e := newHubEnv(t, push.Options{RedeliveryTimeout: 20 * time.Millisecond, MaxRedeliveries: 2})
	bob := &outbox{}
	e.hub.Register("bob", bob)
	d := "d:ann:bob"
	e.publish(d, sent(d, 1, "ann"))
	e.publish(d, sent(d, 2, "ann"))
	e.hub.Acked("bob", d, 1)
	// Seq 2 is pushed 1 + 2 times. Wait for it, then for a barrier that is
	// due after a further redelivery would have been.
	waitFor(t, func() bool { return count(bob.seqs(), 2) == 3 })
	e.publish(d, sent(d, 3, "ann"))
	waitFor(t, func() bool { return count(bob.seqs(), 3) == 3 })
	if n := count(bob.seqs(), 2); n != 3 {
		t.Fatalf("seq 2 pushed %d times, want 3", n)
	}
	if n := count(bob.seqs(), 1); n != 1 {
		t.Fatalf("acked seq 1 pushed %d times", n)
	}
}

func count(seqs []int64, seq int64) int {
	n := 0
	for _, s := range seqs {
		if s == seq {
			n++
		}
	}
	return n
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 30s")
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func TestHubPushesNoReceiptsInLargeGroups(t *testing.T) {
	t.Parallel()
	e := newHubEnv(t, push.Options{MaxReceiptMembers: 3})
	ann := &outbox{}
	e.hub.Register("ann", ann)
	small, large := "g:"+uuid.NewString(), "g:"+uuid.NewString()
	e.publish(small, events.SessionCreated{SessionID: small, Kind: events.KindGroup, Owner: "ann", Members: []string{"ann", "bob", "carl"}})
	e.publish(large, events.SessionCreated{SessionID: large, Kind: events.KindGroup, Owner: "ann", Members: []string{"ann", "bob", "carl", "dora"}})
	for _, g := range []string{small, large} {
		e.publish(g, sent(g, 1, "ann"))
		e.publish(g, events.MessagesReceived{SessionID: g, UserID: "bob", UpToSeq: 1})
		e.publish(g, events.MessagesRead{SessionID: g, UserID: "bob", UpToSeq: 1})
		e.publish(g, events.MessageRecalled{SessionID: g, MessageID: "m", Seq: 1, By: "ann"})
	}
	// The sending connection is another one: ann's outbox gets her messages.
	if got := fmt.Sprint(ann.types()); got != "[message receipt receipt recalled message recalled]" {
		t.Fatalf("ann got %s; want receipts only from the group at the limit", got)
	}
}
