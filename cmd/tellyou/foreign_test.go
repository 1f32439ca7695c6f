package main

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tellyou/tellyou/events/pgstore/pgtest"
)

// TestForeignTransactionsHoldBackNoPushProjectionOrFeed holds a write
// transaction open in another database of the same PostgreSQL server and one
// on an unrelated table of the server's own database, then chats: the push,
// the read models and the auditors' feed all show the message while both are
// still open. With the fast path off, the push comes from the follower of the
// log, which must not be held back either.
func TestForeignTransactionsHoldBackNoPushProjectionOrFeed(t *testing.T) {
	t.Parallel()
	for _, fastPath := range []string{"1", "0"} {
		t.Run("fastPath="+fastPath, func(t *testing.T) {
			t.Parallel()
			url := pgtest.NewDatabase(t)
			n := startNodeEnv(t, map[string]string{"TELLYOU_DATABASE_URL": url,
				"TELLYOU_JWT_SECRET": "serve-test-secret-0123456789abcdef", "TELLYOU_FAST_PATH": fastPath})
			holdOpen(t, pgtest.NewDatabase(t), "CREATE TABLE other_app (v int); INSERT INTO other_app VALUES (1)")
			holdOpen(t, url, "CREATE TABLE unrelated (v int); INSERT INTO unrelated VALUES (1)")

			ann, bob := n.dial(t, "ann"), n.dial(t, "bob")
			writeFrame(t, ann, `{"type":"send","id":"1","toUserId":"bob","messageType":1,"content":"through","clientMessageId":"c1"}`)
			if ack := readUntil(t, ann, "sendAck"); ack["seq"] != float64(1) {
				t.Fatalf("sendAck %v", ack)
			}
			if m := readUntil(t, bob, "message"); m["message"].(map[string]any)["content"] != "through" {
				t.Fatalf("push %v", m)
			}
			var inbox struct {
				Messages []struct {
					Content string `json:"content"`
				} `json:"messages"`
			}
			deadline := time.Now().Add(20 * time.Second)
			for n.get(t, "bob", "/v1/inbox", &inbox); len(inbox.Messages) == 0; n.get(t, "bob", "/v1/inbox", &inbox) {
				if time.Now().After(deadline) {
					t.Fatal("the message is not in bob's inbox (the projections are held back)")
				}
				time.Sleep(20 * time.Millisecond)
			}
			if !feedShows(t, n, "MessageSent") {
				t.Fatal("the feed does not show the message")
			}
		})
	}
}

// holdOpen runs stmt in a transaction on the database at url and keeps the
// transaction open until the test ends.
func holdOpen(t *testing.T, url, stmt string) {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	tx, err := conn.Begin(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = tx.Rollback(context.Background())
		_ = conn.Close(context.Background())
	})
	if _, err := tx.Exec(context.Background(), stmt); err != nil {
		t.Fatal(err)
	}
}

// feedShows reads the auditors' feed from the start until an event of
// eventType arrives (true) or 20 s pass.
func feedShows(t *testing.T, n *node, eventType string) bool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, n.base+"/v1/feed?after=0", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+n.token(t, "audra", "auditor"))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	lines := bufio.NewScanner(resp.Body)
	for lines.Scan() {
		if strings.HasPrefix(lines.Text(), "data:") && strings.Contains(lines.Text(), fmt.Sprintf("%q", eventType)) {
			return true
		}
	}
	return false
}
