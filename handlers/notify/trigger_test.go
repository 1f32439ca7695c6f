package notify_test

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tellyou/tellyou/domain"
	"github.com/tellyou/tellyou/events"
	"github.com/tellyou/tellyou/events/tail"
	"github.com/tellyou/tellyou/handlers/command"
	"github.com/tellyou/tellyou/handlers/handlerstest"
	"github.com/tellyou/tellyou/handlers/notify"
)

// onlineSet is a Presence of a fixed set of users; the real tracker is
// driven by WebSockets in cmd/tellyou's serve_notify_test.go.
type onlineSet struct {
	mu    sync.Mutex
	users map[string]bool
}

func (o *onlineSet) Online(users []string) map[string]bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	out := map[string]bool{}
	for _, u := range users {
		if o.users[u] {
			out[u] = true
		}
	}
	return out
}

// counts gathers a trigger's outcomes.
type counts struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *counts) add(outcome string, n int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == nil {
		c.n = map[string]int{}
	}
	c.n[outcome] += n
}

func (c *counts) get(outcome string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[outcome]
}

// triggerEnv is a write side on a fresh database with the notify tables, a
// receiver and a sender delivering to it.
type triggerEnv struct {
	*handlerstest.Engine
	outbox *notify.Outbox
	rc     *receiver
	online *onlineSet
}

func newTriggerEnv(t *testing.T) *triggerEnv {
	t.Helper()
	e := handlerstest.New(t, handlerstest.Options{RealClock: true})
	if err := notify.Migrate(context.Background(), e.Pool); err != nil {
		t.Fatal(err)
	}
	env := &triggerEnv{Engine: e, outbox: notify.NewOutbox(e.Pool), rc: newReceiver(t, nil), online: &onlineSet{users: map[string]bool{}}}
	run(t, notify.Config{Outbox: env.outbox, URL: env.rc.srv.URL})
	return env
}

// tail returns a tail of the engine's store that runs until the test ends,
// as the server's triggers follow the process's tail.
func (e *triggerEnv) tail(t *testing.T, opener tail.Opener) *tail.Tail {
	t.Helper()
	tl, err := tail.New(tail.Config{Log: e.Store, Opener: opener})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- tl.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("tail Run: %v", err)
		}
	})
	return tl
}

// startTrigger runs a trigger until the returned stop is called or the test
// ends, and waits until it has its checkpoint.
func (e *triggerEnv) startTrigger(t *testing.T, cfg notify.TriggerConfig) (stop func(), tr *notify.Trigger) {
	t.Helper()
	if cfg.Log == nil {
		cfg.Log = e.tail(t, e.Sealer)
	}
	cfg.Pool, cfg.Presence = e.Pool, e.online
	if cfg.Sessions == nil {
		cfg.Sessions = e.Commands.Sessions
	}
	cfg.LeaseRetry, cfg.RetryBackoff = 50*time.Millisecond, 20*time.Millisecond
	tr, err := notify.NewTrigger(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- tr.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("trigger Run: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	eventually(t, "the trigger's checkpoint", func() bool {
		_, ok, err := notify.TriggerCheckpoint(ctx, e.Pool, nameOr(cfg.Name))
		return err == nil && ok
	})
	return stop, tr
}

func nameOr(name string) string {
	if name == "" {
		return notify.DefaultTriggerName
	}
	return name
}

// caughtUp waits until the trigger's checkpoint reaches the log's head.
func (e *triggerEnv) caughtUp(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	head, err := e.Store.Head(ctx)
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "the trigger to reach the head", func() bool {
		pos, _, err := notify.TriggerCheckpoint(ctx, e.Pool, notify.DefaultTriggerName)
		return err == nil && pos >= head
	})
}

// delivered waits for the outbox to empty and returns the notifications the
// receiver got, each verified, by webhook-id.
func (e *triggerEnv) delivered(t *testing.T) map[string][]notify.Notification {
	t.Helper()
	e.caughtUp(t)
	eventually(t, "the outbox to empty", pendingIs(t, e.outbox, 0))
	out := map[string][]notify.Notification{}
	for _, r := range e.rc.requests() {
		verify(t, r)
		var n notify.Notification
		if err := json.Unmarshal(r.body, &n); err != nil {
			t.Fatal(err)
		}
		out[r.header.Get("webhook-id")] = append(out[r.header.Get("webhook-id")], n)
	}
	return out
}

// unreachableKeys is a stand-in for a keystore the node cannot reach: every
// opening fails, so the tail passes sealed events on with a DecodeErr.
type unreachableKeys struct{}

func (unreachableKeys) Open(context.Context, events.Payload) (events.Payload, error) {
	return nil, errors.New("keystore unreachable")
}

// A notification carries no content: messages whose content cannot be
// opened still wake their offline recipients.
func TestTriggerNotifiesWhenContentCannotBeOpened(t *testing.T) {
	t.Parallel()
	e := newTriggerEnv(t)
	e.startTrigger(t, notify.TriggerConfig{Log: e.tail(t, unreachableKeys{})})
	g := e.Group(t, "ann", "bob")
	sent := e.Send(t, "ann", g, "sealed words", "c1")
	got := e.delivered(t)
	if ns := got[notify.WebhookID("bob", sent.MessageID)]; len(got) != 1 || len(ns) != 1 || ns[0].Seq != sent.Seq {
		t.Fatalf("delivered %+v, want one notification to bob of seq %d", got, sent.Seq)
	}
}

func TestTriggerNotifiesOfflineUnmutedRecipientsOnce(t *testing.T) {
	t.Parallel()
	e := newTriggerEnv(t)
	var c counts
	e.startTrigger(t, notify.TriggerConfig{Counted: c.add})
	ctx := context.Background()
	g := e.Group(t, "ann", "bob", "carl", "dora")
	e.online.mu.Lock()
	e.online.users["bob"] = true
	e.online.mu.Unlock()
	if _, err := e.Commands.Mute.Handle(ctx, command.Mute{Meta: handlerstest.As("dora"), SessionID: g, Muted: true}); err != nil {
		t.Fatal(err)
	}
	first := e.Send(t, "ann", g, "lunch?", "c1")

	got := e.delivered(t)
	want := notify.Notification{Type: notify.TypeMessage, UserID: "carl", SessionID: g, Seq: first.Seq,
		MessageID: first.MessageID, SenderID: "ann", SessionKind: "group", Title: "team", SentAt: first.ServerTimestamp}
	if ns := got[notify.WebhookID("carl", first.MessageID)]; len(got) != 1 || len(ns) != 1 || ns[0] != want {
		t.Fatalf("delivered %+v, want one notification %+v (ann sent it, bob is online, dora muted)", got, want)
	}
	if c.get(notify.OutcomeEnqueued) != 1 || c.get(notify.OutcomeOnline) != 1 || c.get(notify.OutcomeMuted) != 1 {
		t.Errorf("outcomes %v, want 1 enqueued, 1 online, 1 muted", c.n)
	}

	// dora unmutes; bob goes offline: both are woken by the next message.
	if _, err := e.Commands.Mute.Handle(ctx, command.Mute{Meta: handlerstest.As("dora"), SessionID: g, Muted: false}); err != nil {
		t.Fatal(err)
	}
	e.online.mu.Lock()
	delete(e.online.users, "bob")
	e.online.mu.Unlock()
	second := e.Send(t, "carl", g, "yes", "c2")
	got = e.delivered(t)
	for _, u := range []string{"ann", "bob", "dora"} {
		if ns := got[notify.WebhookID(u, second.MessageID)]; len(ns) != 1 || ns[0].UserID != u || ns[0].SenderID != "carl" {
			t.Errorf("%s got %+v for the second message, want one", u, ns)
		}
	}
	if len(got) != 4 {
		t.Errorf("%d distinct notifications, want 4: %+v", len(got), got)
	}
	if n := len(e.rc.requests()); n != 4 {
		t.Errorf("%d requests, want 4", n)
	}
}

func TestTriggerResumesFromItsCheckpointWithoutDuplicates(t *testing.T) {
	t.Parallel()
	e := newTriggerEnv(t)
	stop, _ := e.startTrigger(t, notify.TriggerConfig{BatchSize: 2})
	var sent []command.SendAck
	for i := range 3 {
		sent = append(sent, e.SendTo(t, "ann", "bob", "before the stop", "b"+string(rune('0'+i))))
	}
	e.caughtUp(t)
	stop()
	// Sent while no trigger runs: the next one decides them.
	for i := range 4 {
		sent = append(sent, e.SendTo(t, "ann", "bob", "while stopped", "w"+string(rune('0'+i))))
	}
	e.startTrigger(t, notify.TriggerConfig{BatchSize: 3})
	got := e.delivered(t)
	if len(got) != len(sent) {
		t.Errorf("%d notifications, want %d", len(got), len(sent))
	}
	for _, s := range sent {
		if ns := got[notify.WebhookID("bob", s.MessageID)]; len(ns) != 1 {
			t.Errorf("message %d: %d notifications, want 1", s.Seq, len(ns))
		}
	}
	if n := len(e.rc.requests()); n != len(sent) {
		t.Errorf("%d requests, want %d", n, len(sent))
	}
}

func TestTriggerStartsAtTheHeadAndSkipsStaleMessages(t *testing.T) {
	t.Parallel()
	e := newTriggerEnv(t)
	// Before the trigger ever ran: nobody is woken for it.
	e.SendTo(t, "ann", "bob", "from before notifications", "old")
	var c counts
	e.startTrigger(t, notify.TriggerConfig{Counted: c.add, MaxAge: time.Minute,
		Now: func() time.Time { return time.Now().Add(2 * time.Minute) }})
	e.SendTo(t, "ann", "bob", "read two minutes late", "late")
	e.caughtUp(t)
	if c.get(notify.OutcomeStale) != 1 || c.get(notify.OutcomeEnqueued) != 0 {
		t.Errorf("outcomes %v, want 1 stale", c.n)
	}
	if n, err := e.outbox.Pending(context.Background()); err != nil || n != 0 || len(e.rc.requests()) != 0 {
		t.Errorf("pending %d (%v), %d requests; want none", n, err, len(e.rc.requests()))
	}
}

func TestTriggerConfigValidate(t *testing.T) {
	t.Parallel()
	if _, err := notify.NewTrigger(notify.TriggerConfig{}); err == nil {
		t.Error("a trigger without dependencies was built")
	}
}

// viewCounter counts the trigger's reads of session state: one per message
// decided, again on each retry.
type viewCounter struct {
	notify.Sessions
	n atomic.Int64
}

func (v *viewCounter) View(ctx context.Context, id string, read func(*domain.Session)) error {
	v.n.Add(1)
	return v.Sessions.View(ctx, id, read)
}

func TestTriggerEnqueuesNothingUnlessItsCheckpointCommits(t *testing.T) {
	t.Parallel()
	e := newTriggerEnv(t)
	ctx := context.Background()
	views := &viewCounter{Sessions: e.Commands.Sessions}
	e.startTrigger(t, notify.TriggerConfig{Sessions: views})
	before, _, err := notify.TriggerCheckpoint(ctx, e.Pool, notify.DefaultTriggerName)
	if err != nil {
		t.Fatal(err)
	}
	// The checkpoint's write fails while test_refuse holds a row, after the
	// outbox rows of the same transaction were written.
	if _, err := e.Pool.Exec(ctx, `
		CREATE TABLE test_refuse (x int);
		INSERT INTO test_refuse VALUES (1);
		CREATE FUNCTION test_refuse_checkpoint() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN
			IF EXISTS (SELECT 1 FROM test_refuse) THEN RAISE EXCEPTION 'checkpoint refused by the test'; END IF;
			RETURN NEW;
		END $$;
		CREATE TRIGGER test_refuse BEFORE INSERT OR UPDATE ON tellyou_notify_checkpoints
			FOR EACH ROW EXECUTE FUNCTION test_refuse_checkpoint();`); err != nil {
		t.Fatal(err)
	}
	sent := e.SendTo(t, "ann", "bob", "are you there?", "c1")
	eventually(t, "the trigger to try the message three times", func() bool { return views.n.Load() >= 3 })
	if n, err := e.outbox.Pending(ctx); err != nil || n != 0 || len(e.rc.requests()) != 0 {
		t.Fatalf("%d pending (%v), %d requests while the checkpoint cannot move; want none", n, err, len(e.rc.requests()))
	}
	if pos, _, err := notify.TriggerCheckpoint(ctx, e.Pool, notify.DefaultTriggerName); err != nil || pos != before {
		t.Fatalf("checkpoint %d (%v), want it still at %d", pos, err, before)
	}
	if _, err := e.Pool.Exec(ctx, `DELETE FROM test_refuse`); err != nil {
		t.Fatal(err)
	}
	got := e.delivered(t)
	if ns := got[notify.WebhookID("bob", sent.MessageID)]; len(got) != 1 || len(ns) != 1 {
		t.Fatalf("delivered %+v, want one notification to bob", got)
	}
}

func TestOneOfTwoTriggersDecides(t *testing.T) {
	t.Parallel()
	e := newTriggerEnv(t)
	_, a := e.startTrigger(t, notify.TriggerConfig{})
	_, b := e.startTrigger(t, notify.TriggerConfig{})
	// Both share the lease; a standby keeps trying, so look a while.
	for range 10 {
		if a.Leader() == b.Leader() {
			t.Fatalf("leaders: %v and %v, want exactly one", a.Leader(), b.Leader())
		}
		time.Sleep(20 * time.Millisecond)
	}
	var sent []command.SendAck
	for i := range 5 {
		sent = append(sent, e.SendTo(t, "ann", "bob", "once each", "c"+string(rune('0'+i))))
	}
	got := e.delivered(t)
	if len(got) != len(sent) || len(e.rc.requests()) != len(sent) {
		t.Errorf("%d notifications in %d requests, want %d", len(got), len(e.rc.requests()), len(sent))
	}
}
