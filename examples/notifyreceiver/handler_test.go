package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/tellyou/tellyou/handlers/notify"
)

var secret = "whsec_" + base64.StdEncoding.EncodeToString([]byte("the receiver's shared test key.."))

// server runs the handler over real HTTP and returns what it delivered.
func server(t *testing.T) (*httptest.Server, func() []notify.Notification) {
	t.Helper()
	wh, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var got []notify.Notification
	srv := httptest.NewServer(newHandler(wh, func(n notify.Notification) {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, n)
	}))
	t.Cleanup(srv.Close)
	return srv, func() []notify.Notification {
		mu.Lock()
		defer mu.Unlock()
		return append([]notify.Notification(nil), got...)
	}
}

// post sends body signed with key at ts and returns the status.
func post(t *testing.T, url, key, id string, ts time.Time, body []byte) int {
	t.Helper()
	wh, err := standardwebhooks.NewWebhook(key)
	if err != nil {
		t.Fatal(err)
	}
	sig, err := wh.Sign(id, ts, body)
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	req.Header.Set("webhook-id", id)
	req.Header.Set("webhook-timestamp", strconv.FormatInt(ts.Unix(), 10))
	req.Header.Set("webhook-signature", sig)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func body(t *testing.T) []byte {
	b, err := json.Marshal(notify.Notification{Type: "message", UserID: "bob", SessionID: "d:alice:bob", Seq: 3, MessageID: "m-1", SenderID: "alice", SessionKind: "direct"})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestGenuineNotificationIsAcceptedOnce(t *testing.T) {
	t.Parallel()
	srv, got := server(t)
	id := notify.WebhookID("bob", "m-1")
	for range 2 { // a retry of the same notification
		if code := post(t, srv.URL, secret, id, time.Now(), body(t)); code != http.StatusNoContent {
			t.Fatalf("status %d, want 204", code)
		}
	}
	if n := got(); len(n) != 1 || n[0].UserID != "bob" || n[0].Seq != 3 {
		t.Errorf("delivered %+v, want bob's notification once", n)
	}
}

func TestForgedSignatureIsRefused(t *testing.T) {
	t.Parallel()
	srv, got := server(t)
	other := "whsec_" + base64.StdEncoding.EncodeToString([]byte("somebody else's key, not shared"))
	if code := post(t, srv.URL, other, "msg_1", time.Now(), body(t)); code != http.StatusUnauthorized {
		t.Errorf("status %d, want 401", code)
	}
	// A genuine signature over a different body.
	wh, _ := standardwebhooks.NewWebhook(secret)
	now := time.Now()
	sig, _ := wh.Sign("msg_2", now, body(t))
	req, _ := http.NewRequest(http.MethodPost, srv.URL, bytes.NewReader([]byte(`{"type":"message","userId":"mallory"}`)))
	req.Header.Set("webhook-id", "msg_2")
	req.Header.Set("webhook-timestamp", strconv.FormatInt(now.Unix(), 10))
	req.Header.Set("webhook-signature", sig)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("tampered body: status %d, want 401", resp.StatusCode)
	}
	if n := got(); len(n) != 0 {
		t.Errorf("delivered %+v", n)
	}
}

func TestReplayedOldRequestIsRefused(t *testing.T) {
	t.Parallel()
	srv, got := server(t)
	if code := post(t, srv.URL, secret, "msg_old", time.Now().Add(-time.Hour), body(t)); code != http.StatusUnauthorized {
		t.Errorf("status %d, want 401", code)
	}
	if n := got(); len(n) != 0 {
		t.Errorf("delivered %+v", n)
	}
}
