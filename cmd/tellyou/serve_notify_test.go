package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/tellyou/tellyou/events/pgstore/pgtest"
	"github.com/tellyou/tellyou/handlers/notify"
)

// pushGateway is a push gateway on a real socket that verifies each request's
// signature with the Standard Webhooks library and keeps the notifications.
type pushGateway struct {
	mu  sync.Mutex
	got []notify.Notification
	ids []string
	bad int
}

func newGateway(t *testing.T, secret string) (*pushGateway, string) {
	t.Helper()
	wh, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		t.Fatal(err)
	}
	g := &pushGateway{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var n notify.Notification
		err := wh.Verify(body, r.Header)
		if err == nil {
			err = json.Unmarshal(body, &n)
		}
		g.mu.Lock()
		defer g.mu.Unlock()
		if err != nil {
			g.bad++
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		g.got, g.ids = append(g.got, n), append(g.ids, r.Header.Get("webhook-id"))
	}))
	t.Cleanup(srv.Close)
	return g, srv.URL
}

func (g *pushGateway) notifications() ([]notify.Notification, []string, int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]notify.Notification(nil), g.got...), append([]string(nil), g.ids...), g.bad
}

var notificationsMetric = regexp.MustCompile(`tellyou_notifications_total\{outcome="(\w+)"\} (\d+)`)

// outcomes reads the trigger's counts from /metrics.
func (n *node) outcomes(t *testing.T) map[string]int {
	t.Helper()
	resp, err := http.Get(n.base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	out := map[string]int{}
	for _, m := range notificationsMetric.FindAllStringSubmatch(string(raw), -1) {
		out[m[1]], _ = strconv.Atoi(m[2])
	}
	return out
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
	}
}

// TestServeNotifiesOfflineMembersOnly runs a node with notifications on:
// bob is connected by WebSocket, carl is not, dora muted the group. ann's
// message wakes carl alone; after dora unmutes, the next wakes carl and dora.
func TestServeNotifiesOfflineMembersOnly(t *testing.T) {
	t.Parallel()
	secret := "whsec_" + base64.StdEncoding.EncodeToString([]byte("serve notify test key, 32 bytes."))
	gw, gwURL := newGateway(t, secret)
	db := pgtest.NewDatabase(t)
	n := startNodeEnv(t, map[string]string{"TELLYOU_DATABASE_URL": db, "TELLYOU_JWT_SECRET": "serve-test-secret-0123456789abcdef",
		"TELLYOU_NOTIFY_URL": gwURL, "TELLYOU_NOTIFY_SECRET": secret})
	pool, err := pgxpool.New(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	// The trigger decides from where the log stood when it first ran.
	waitFor(t, "the trigger's checkpoint", func() bool {
		_, ok, err := notify.TriggerCheckpoint(context.Background(), pool, notify.DefaultTriggerName)
		return err == nil && ok
	})

	var group struct {
		SessionID string `json:"sessionId"`
	}
	if st := n.send(t, http.MethodPost, "ann", "/v1/sessions", `{"title":"lunch","members":["bob","carl","dora"]}`, &group); st != http.StatusCreated {
		t.Fatalf("create group: %d", st)
	}
	mute := func(muted bool) {
		t.Helper()
		var got struct{ Muted bool }
		if st := n.send(t, http.MethodPatch, "dora", "/v1/sessions/"+group.SessionID+"/me", fmt.Sprintf(`{"muted":%v}`, muted), &got); st != http.StatusOK || got.Muted != muted {
			t.Fatalf("dora sets muted %v: %d %+v", muted, st, got)
		}
	}
	mute(true)
	n.dial(t, "bob") // registered before the upgrade's answer: online from here
	ann := n.dial(t, "ann")
	say := func(i int) string {
		writeFrame(t, ann, fmt.Sprintf(`{"type":"send","id":"s%d","sessionId":%q,"messageType":1,"content":"noon?","clientMessageId":"c%d"}`, i, group.SessionID, i))
		return readUntil(t, ann, "sendAck")["messageId"].(string)
	}
	first := say(1)
	waitFor(t, "the first message's decision", func() bool {
		o := n.outcomes(t)
		return o["enqueued"]+o["online"]+o["muted"] >= 3
	})
	waitFor(t, "carl's notification", func() bool { got, _, _ := gw.notifications(); return len(got) >= 1 })
	if o := n.outcomes(t); o["enqueued"] != 1 || o["online"] != 1 || o["muted"] != 1 {
		t.Errorf("outcomes %v, want 1 enqueued (carl), 1 online (bob), 1 muted (dora)", o)
	}

	mute(false)
	second := say(2)
	waitFor(t, "the second message's notifications", func() bool { got, _, _ := gw.notifications(); return len(got) >= 3 })
	var pending int
	waitFor(t, "the outbox to empty", func() bool {
		return pool.QueryRow(context.Background(), `SELECT count(*) FROM tellyou_notify_outbox`).Scan(&pending) == nil && pending == 0
	})
	got, ids, bad := gw.notifications()
	want := map[string]bool{
		notify.WebhookID("carl", first): true, notify.WebhookID("carl", second): true, notify.WebhookID("dora", second): true,
	}
	if len(got) != 3 || bad != 0 {
		t.Fatalf("gateway got %d notifications (%d badly signed), want 3: %+v", len(got), bad, got)
	}
	for i, id := range ids {
		if !want[id] {
			t.Errorf("unexpected notification %s: %+v", id, got[i])
		}
		delete(want, id)
		if got[i].SessionID != group.SessionID || got[i].SenderID != "ann" || got[i].SessionKind != "group" || got[i].Title != "lunch" {
			t.Errorf("notification %+v", got[i])
		}
	}
}
