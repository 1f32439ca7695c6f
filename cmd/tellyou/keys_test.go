package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tellyou/tellyou/events/keystore"
	"github.com/tellyou/tellyou/events/pgstore/pgtest"
)

func generateKey(t *testing.T) string {
	t.Helper()
	var out, errOut bytes.Buffer
	if err := run(context.Background(), []string{"keys", "generate"}, env(nil), &out, &errOut); err != nil {
		t.Fatalf("keys generate: %v (%s)", err, errOut.String())
	}
	k := strings.TrimSpace(out.String())
	if b, err := base64.StdEncoding.DecodeString(k); err != nil || len(b) != 32 {
		t.Fatalf("keys generate printed %q (%d bytes, %v)", k, len(b), err)
	}
	return k
}

// TestServeSealsContentAndTheKeysCommandsRotateIt runs serve with a master
// key: a message's content is nowhere in clear in the database, yet bob's
// inbox shows it; the master is rotated with the command, after which
// rebuild and audit open the content under the new master only.
func TestServeSealsContentAndTheKeysCommandsRotateIt(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	oldKey, newKey := generateKey(t), generateKey(t)
	if oldKey == newKey {
		t.Fatal("keys generate printed the same key twice")
	}
	url := pgtest.NewDatabase(t)
	vars := map[string]string{"TELLYOU_DATABASE_URL": url, "TELLYOU_JWT_SECRET": "serve-test-secret-0123456789abcdef",
		"TELLYOU_MASTER_KEY": oldKey}
	n := startNodeEnv(t, vars)
	secret := "sealed-in-serve-" + uuid.NewString()
	ann := n.dial(t, "ann")
	writeFrame(t, ann, fmt.Sprintf(`{"type":"send","id":"s1","toUserId":"bob","messageType":1,"content":%q,"clientMessageId":"c1"}`, secret))
	ack := readUntil(t, ann, "sendAck")
	session := ack["sessionId"].(string)
	var inbox struct {
		Messages []struct {
			Content string `json:"content"`
		} `json:"messages"`
	}
	for deadline := time.Now().Add(30 * time.Second); len(inbox.Messages) == 0; {
		if status := n.get(t, "bob", "/v1/inbox", &inbox); status != http.StatusOK || time.Now().After(deadline) {
			t.Fatalf("inbox status %d, %d messages", status, len(inbox.Messages))
		}
	}
	if inbox.Messages[0].Content != secret {
		t.Fatalf("bob's inbox shows %q, want %q", inbox.Messages[0].Content, secret)
	}
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	var inLog int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM tellyou_events WHERE data::text LIKE '%' || $1 || '%'`, secret).Scan(&inLog); err != nil || inLog != 0 {
		t.Fatalf("%d events hold the content in clear (%v)", inLog, err)
	}

	var out, errOut bytes.Buffer
	rotate := map[string]string{"TELLYOU_DATABASE_URL": url, "TELLYOU_MASTER_KEY": oldKey}
	if err := run(ctx, []string{"keys", "rotate-master"}, env(rotate), &out, &errOut); err == nil {
		t.Fatal("rotate-master without TELLYOU_NEW_MASTER_KEY succeeded")
	}
	rotate["TELLYOU_NEW_MASTER_KEY"] = newKey
	out.Reset()
	if err := run(ctx, []string{"keys", "rotate-master", "--batch", "1"}, env(rotate), &out, &errOut); err != nil {
		t.Fatalf("rotate-master: %v (%s)", err, errOut.String())
	}
	if got := strings.TrimSpace(out.String()); got != "rewrapped 1 data keys" { // ann's key of today in this session
		t.Fatalf("rotate-master printed %q", got)
	}

	after := map[string]string{"TELLYOU_DATABASE_URL": url, "TELLYOU_MASTER_KEY": oldKey}
	if err := run(ctx, []string{"audit", "--session", session}, env(after), &out, &errOut); err == nil ||
		!strings.Contains(err.Error(), keystore.ErrWrongMaster.Error()) {
		t.Fatalf("audit with the old master after the rotation = %v, want a wrong master error", err)
	}
	after["TELLYOU_MASTER_KEY"] = newKey
	out.Reset()
	if err := run(ctx, []string{"audit", "--session", session}, env(after), &out, &errOut); err != nil {
		t.Fatalf("audit: %v (%s)", err, errOut.String())
	}
	if want := fmt.Sprintf(`"opened":{"status":"content","content":%q}`, secret); !strings.Contains(out.String(), want) ||
		!strings.Contains(out.String(), `"sealed":{"kid":`) {
		t.Fatalf("audit printed\n%s\nwant the sealed event and %s", out.String(), want)
	}
	out.Reset()
	if err := run(ctx, []string{"rebuild", "--projection", "history"}, env(after), &out, &errOut); err != nil {
		t.Fatalf("rebuild under the new master: %v (%s)", err, errOut.String())
	}
	inbox.Messages = nil
	if status := n.get(t, "bob", "/v1/sessions/"+session+"/messages", &inbox); status != http.StatusOK || len(inbox.Messages) != 1 || inbox.Messages[0].Content != secret {
		t.Fatalf("after the rebuild bob's history = %d %+v", status, inbox.Messages)
	}
}

func TestMasterKeySettingsAreChecked(t *testing.T) {
	t.Parallel()
	for _, v := range []string{"short", base64.StdEncoding.EncodeToString(make([]byte, 16)), "!!!not base64!!!"} {
		for _, name := range []string{"TELLYOU_MASTER_KEY", "TELLYOU_PREVIOUS_MASTER_KEY", "TELLYOU_NEW_MASTER_KEY"} {
			if _, err := configFromEnv(env(map[string]string{name: v})); err == nil || !strings.Contains(err.Error(), name) {
				t.Errorf("%s=%q: %v, want an error naming it", name, v, err)
			}
		}
	}
	var out, errOut bytes.Buffer
	if err := run(context.Background(), []string{"keys", "nope"}, env(nil), &out, &errOut); err == nil {
		t.Error("keys nope succeeded")
	}
}
