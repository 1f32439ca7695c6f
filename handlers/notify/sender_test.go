package notify_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/tellyou/tellyou/events/pgstore/pgtest"
	"github.com/tellyou/tellyou/handlers/notify"
)

var testSecret = "whsec_" + base64.StdEncoding.EncodeToString([]byte("a test key of 32 bytes, no more."))

// received is one request as a receiver saw it.
type received struct {
	header http.Header
	body   []byte
}

// receiver is a real HTTP server that records requests and answers with
// answer (200 when nil).
type receiver struct {
	mu  sync.Mutex
	got []received
	srv *httptest.Server
}

func newReceiver(t *testing.T, answer func(n int, w http.ResponseWriter, r *http.Request)) *receiver {
	t.Helper()
	rc := &receiver{}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			t.Errorf("read request: %v", err)
		}
		rc.mu.Lock()
		rc.got = append(rc.got, received{r.Header.Clone(), body})
		n := len(rc.got)
		rc.mu.Unlock()
		if answer != nil {
			answer(n, w, r)
		}
	}))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) requests() []received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]received(nil), rc.got...)
}

func newOutbox(t *testing.T) *notify.Outbox {
	t.Helper()
	pool := pgtest.NewPool(t)
	if err := notify.Migrate(context.Background(), pool); err != nil {
		t.Fatal(err)
	}
	return notify.NewOutbox(pool)
}

// run starts a sender with short waits and stops it when the test ends.
func run(t *testing.T, cfg notify.Config) {
	t.Helper()
	cfg.PollInterval = 20 * time.Millisecond
	cfg.BackoffBase = 10 * time.Millisecond
	cfg.BackoffMax = 40 * time.Millisecond
	if cfg.Secret == "" {
		cfg.Secret = testSecret
	}
	s, err := notify.NewSender(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
}

// eventually waits for cond, failing the test after 30 s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting: %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func pendingIs(t *testing.T, o *notify.Outbox, want int) func() bool {
	return func() bool {
		n, err := o.Pending(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return n == want
	}
}

func note(user, message string) notify.Notification {
	return notify.Notification{
		UserID: user, SessionID: "d:alice:" + user, Seq: 7, MessageID: message,
		SenderID: "alice", SessionKind: "direct", SentAt: 1764158400012,
	}
}

// verify checks a request's signature with the Standard Webhooks library.
func verify(t *testing.T, r received) {
	t.Helper()
	wh, err := standardwebhooks.NewWebhook(testSecret)
	if err != nil {
		t.Fatal(err)
	}
	if err := wh.Verify(r.body, r.header); err != nil {
		t.Errorf("signature does not verify: %v (headers %v)", err, r.header)
	}
}

func TestDeliversOnceSignedVerifiably(t *testing.T) {
	t.Parallel()
	ob := newOutbox(t)
	rc := newReceiver(t, nil)
	n := note("bob", "m-1")
	if err := ob.Enqueue(context.Background(), n); err != nil {
		t.Fatal(err)
	}
	run(t, notify.Config{Outbox: ob, URL: rc.srv.URL})
	eventually(t, "the outbox to empty", pendingIs(t, ob, 0))
	got := rc.requests()
	if len(got) != 1 {
		t.Fatalf("%d requests, want 1", len(got))
	}
	verify(t, got[0])
	if id := got[0].header.Get("webhook-id"); id != notify.WebhookID("bob", "m-1") {
		t.Errorf("webhook-id %q, want %q", id, notify.WebhookID("bob", "m-1"))
	}
	if ct := got[0].header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
	var body notify.Notification
	if err := json.Unmarshal(got[0].body, &body); err != nil {
		t.Fatal(err)
	}
	n.Type = notify.TypeMessage
	if body != n {
		t.Errorf("body %+v, want %+v", body, n)
	}
	var fields map[string]any
	_ = json.Unmarshal(got[0].body, &fields)
	for _, k := range []string{"text", "content", "body"} {
		if _, ok := fields[k]; ok {
			t.Errorf("body carries %q: %s", k, got[0].body)
		}
	}
}

func TestRetriesUntilTheReceiverAccepts(t *testing.T) {
	t.Parallel()
	ob := newOutbox(t)
	rc := newReceiver(t, func(n int, w http.ResponseWriter, _ *http.Request) {
		if n <= 2 {
			http.Error(w, "not now", http.StatusInternalServerError)
		}
	})
	if err := ob.Enqueue(context.Background(), note("bob", "m-1")); err != nil {
		t.Fatal(err)
	}
	run(t, notify.Config{Outbox: ob, URL: rc.srv.URL})
	eventually(t, "the outbox to empty", pendingIs(t, ob, 0))
	got := rc.requests()
	if len(got) != 3 {
		t.Fatalf("%d requests, want 3 (two 500s, then 200)", len(got))
	}
	for i, r := range got {
		verify(t, r)
		if id := r.header.Get("webhook-id"); id != got[0].header.Get("webhook-id") {
			t.Errorf("attempt %d has webhook-id %q, the first had %q", i+1, id, got[0].header.Get("webhook-id"))
		}
	}
	if dead, err := ob.DeadLetters(context.Background()); err != nil || len(dead) != 0 {
		t.Errorf("dead letters %v (%v), want none", dead, err)
	}
}

func TestGivesUpAfterMaxAttempts(t *testing.T) {
	t.Parallel()
	ob := newOutbox(t)
	rc := newReceiver(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "gateway on fire", http.StatusInternalServerError)
	})
	ctx := context.Background()
	if err := ob.Enqueue(ctx, note("bob", "m-1")); err != nil {
		t.Fatal(err)
	}
	run(t, notify.Config{Outbox: ob, URL: rc.srv.URL, MaxAttempts: 3})
	var dead []notify.DeadLetter
	eventually(t, "a dead letter", func() bool {
		var err error
		if dead, err = ob.DeadLetters(ctx); err != nil {
			t.Fatal(err)
		}
		return len(dead) > 0
	})
	if len(dead) != 1 || dead[0].Attempts != 3 || dead[0].Notification.MessageID != "m-1" ||
		!strings.Contains(dead[0].LastError, "500") || !strings.Contains(dead[0].LastError, "gateway on fire") {
		t.Errorf("dead letters %+v, want m-1 after 3 attempts with the 500's body", dead)
	}
	if got := len(rc.requests()); got != 3 {
		t.Errorf("%d requests, want 3", got)
	}
	if n, err := ob.Pending(ctx); err != nil || n != 0 {
		t.Errorf("%d pending (%v), want 0", n, err)
	}
	// A notification given up on is not enqueued again.
	if err := ob.Enqueue(ctx, note("bob", "m-1")); err != nil {
		t.Fatal(err)
	}
	if n, err := ob.Pending(ctx); err != nil || n != 0 {
		t.Errorf("%d pending after enqueueing a dead letter again (%v), want 0", n, err)
	}
}

func TestSlowReceiverFailsWithoutHoldingOthers(t *testing.T) {
	t.Parallel()
	ob := newOutbox(t)
	slowArrived, fastArrived := make(chan struct{}), make(chan struct{})
	var slowOpenWhenFastArrived atomic.Bool
	var fastCount atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var n notify.Notification
		if err := json.NewDecoder(r.Body).Decode(&n); err != nil {
			t.Errorf("decode: %v", err)
		}
		if n.UserID == "fast" {
			if fastCount.Add(1) == 1 {
				close(fastArrived)
			}
			return
		}
		close(slowArrived)
		select {
		case <-fastArrived:
			slowOpenWhenFastArrived.Store(r.Context().Err() == nil)
		case <-time.After(30 * time.Second):
		}
		<-r.Context().Done() // held past the sender's timeout
	}))
	t.Cleanup(srv.Close)
	ctx := context.Background()
	if err := ob.Enqueue(ctx, note("slow", "m-1")); err != nil {
		t.Fatal(err)
	}
	run(t, notify.Config{Outbox: ob, URL: srv.URL, MaxAttempts: 1, Timeout: 2 * time.Second})
	<-slowArrived
	if err := ob.Enqueue(ctx, note("fast", "m-2")); err != nil {
		t.Fatal(err)
	}
	var dead []notify.DeadLetter
	eventually(t, "the slow notification's dead letter", func() bool {
		var err error
		if dead, err = ob.DeadLetters(ctx); err != nil {
			t.Fatal(err)
		}
		return len(dead) > 0
	})
	if len(dead) != 1 || dead[0].Notification.UserID != "slow" || !strings.Contains(dead[0].LastError, "deadline exceeded") {
		t.Errorf("dead letters %+v, want slow's, timed out", dead)
	}
	eventually(t, "the outbox to empty", pendingIs(t, ob, 0))
	if fastCount.Load() != 1 {
		t.Errorf("fast notification sent %d times, want 1", fastCount.Load())
	}
	if !slowOpenWhenFastArrived.Load() {
		t.Error("the fast notification arrived only after the slow request ended")
	}
}

func TestEnqueueTwiceSendsOnce(t *testing.T) {
	t.Parallel()
	ob := newOutbox(t)
	rc := newReceiver(t, nil)
	ctx := context.Background()
	first, again := note("bob", "m-1"), note("bob", "m-1")
	again.Seq = 8
	for _, n := range []notify.Notification{first, again} {
		if err := ob.Enqueue(ctx, n); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := ob.Pending(ctx); err != nil || n != 1 {
		t.Fatalf("%d pending (%v), want 1", n, err)
	}
	run(t, notify.Config{Outbox: ob, URL: rc.srv.URL})
	eventually(t, "the outbox to empty", pendingIs(t, ob, 0))
	got := rc.requests()
	if len(got) != 1 {
		t.Fatalf("%d requests, want 1", len(got))
	}
	var body notify.Notification
	if err := json.Unmarshal(got[0].body, &body); err != nil || body.Seq != 7 {
		t.Errorf("sent %s (%v), want the first enqueued (seq 7)", got[0].body, err)
	}
}

func TestEnqueueRefusesIncompleteNotifications(t *testing.T) {
	t.Parallel()
	ob := newOutbox(t)
	for name, n := range map[string]notify.Notification{
		"no user":    {SessionID: "s", MessageID: "m"},
		"no message": {UserID: "u", SessionID: "s"},
		"no session": {UserID: "u", MessageID: "m"},
		"bad type":   {Type: "call", UserID: "u", SessionID: "s", MessageID: "m"},
	} {
		if err := ob.Enqueue(context.Background(), n); err == nil {
			t.Errorf("%s: enqueued", name)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	ob := &notify.Outbox{}
	good := notify.Config{Outbox: ob, URL: "https://push.example/notify", Secret: testSecret}
	if err := good.Validate(); err != nil {
		t.Fatalf("good config: %v", err)
	}
	for name, mut := range map[string]func(*notify.Config){
		"no outbox":      func(c *notify.Config) { c.Outbox = nil },
		"no URL":         func(c *notify.Config) { c.URL = "" },
		"not http":       func(c *notify.Config) { c.URL = "ftp://push.example" },
		"no host":        func(c *notify.Config) { c.URL = "http://" },
		"no whsec_":      func(c *notify.Config) { c.Secret = "c2VjcmV0" },
		"not base64":     func(c *notify.Config) { c.Secret = "whsec_!!!" },
		"empty key":      func(c *notify.Config) { c.Secret = "whsec_" },
		"negative":       func(c *notify.Config) { c.Timeout = -time.Second },
		"negative tries": func(c *notify.Config) { c.MaxAttempts = -1 },
	} {
		c := good
		mut(&c)
		if err := c.Validate(); err == nil {
			t.Errorf("%s: valid", name)
		}
	}
}

func TestSlowReceiverIsRetriedUnderTheSameWebhookID(t *testing.T) {
	t.Parallel()
	ob := newOutbox(t)
	// The first attempt is answered only after the sender's timeout; the
	// receiver still takes it in (a gateway that was merely slow), so the
	// retry is a repeat it must recognise by its webhook-id.
	rc := newReceiver(t, func(n int, w http.ResponseWriter, r *http.Request) {
		if n == 1 {
			select {
			case <-r.Context().Done():
			case <-time.After(5 * time.Second):
			}
		}
	})
	if err := ob.Enqueue(context.Background(), note("bob", "m-1")); err != nil {
		t.Fatal(err)
	}
	run(t, notify.Config{Outbox: ob, URL: rc.srv.URL, Timeout: 300 * time.Millisecond})
	eventually(t, "the outbox to empty", pendingIs(t, ob, 0))
	got := rc.requests()
	if len(got) != 2 {
		t.Fatalf("%d requests, want 2 (one timed out, one answered)", len(got))
	}
	for _, r := range got {
		verify(t, r)
		if id := r.header.Get("webhook-id"); id != notify.WebhookID("bob", "m-1") {
			t.Errorf("webhook-id %q, want %q on every attempt", id, notify.WebhookID("bob", "m-1"))
		}
	}
	if dead, err := ob.DeadLetters(context.Background()); err != nil || len(dead) != 0 {
		t.Errorf("dead letters %v (%v), want none", dead, err)
	}
}
