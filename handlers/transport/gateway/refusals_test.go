package gateway_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/google/uuid"

	"github.com/tellyou/tellyou/handlers/transport/auth"
	"github.com/tellyou/tellyou/handlers/transport/ws"
)

func TestBadFramesGetAnErrorAndTheConnectionStaysOpen(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	ann := e.connect(t, "ann")
	ann.request(map[string]any{"type": "send", "id": "setup", "toUserId": "bob", "messageType": 1, "content": "hi", "clientMessageId": "c0"})
	g := e.group(t, "bob", "carl")
	long := strings.Repeat("x", 65)

	cases := []struct {
		name   string
		frame  any // string: raw text; []byte: a binary frame; else JSON
		code   string
		echoID string
		echoCM string
	}{
		{"invalid JSON", `{"type":"send",`, "bad_request", "", ""},
		{"binary frame", []byte(`{"type":"typing","id":"b1","sessionId":"d:ann:bob"}`), "bad_request", "b1", ""},
		{"binary garbage", []byte{0xff, 0x00, 0x01}, "bad_request", "", ""},
		{"unknown type", `{"type":"dance","id":"u1"}`, "bad_request", "u1", ""},
		{"wrong field type", `{"type":"ack","id":"w1","sessionId":"d:ann:bob","seq":"1","ackType":"read"}`, "bad_request", "w1", ""},
		{"missing field", `{"type":"send","id":"m1","sessionId":"d:ann:bob","messageType":1,"clientMessageId":"cm1"}`, "bad_request", "m1", "cm1"},
		{"both targets", `{"type":"send","id":"b2","sessionId":"d:ann:bob","toUserId":"bob","messageType":1,"content":"x","clientMessageId":"cb2"}`, "bad_request", "b2", "cb2"},
		{"id too long", `{"type":"typing","id":"` + long + `","sessionId":"d:ann:bob"}`, "bad_request", "", ""},
		{"malformed session id", `{"type":"sync","id":"s1","sessionId":"nope"}`, "bad_request", "s1", ""},
		{"forbidden session", map[string]any{"type": "send", "id": "f1", "sessionId": g, "messageType": 1, "content": "x", "clientMessageId": "cf1"}, "forbidden", "f1", "cf1"},
		{"unknown group", map[string]any{"type": "send", "id": "n1", "sessionId": "g:" + uuid.NewString(), "messageType": 1, "content": "x", "clientMessageId": "cn1"}, "not_found", "n1", "cn1"},
		{"unknown direct session", map[string]any{"type": "sync", "id": "n2", "sessionId": "d:ann:zed"}, "not_found", "n2", ""},
		{"content too large", map[string]any{"type": "send", "id": "l1", "sessionId": "d:ann:bob", "messageType": 1, "content": strings.Repeat("y", 40<<10), "clientMessageId": "cl1"}, "too_large", "l1", "cl1"},
	}
	for i, c := range cases {
		before := value(e.metrics.FrameErrors.WithLabelValues(c.code))
		errs := len(ann.matching(isType("error")))
		switch f := c.frame.(type) {
		case []byte:
			ctx, cancel := context.WithTimeout(context.Background(), wait)
			if err := ann.conn.Write(ctx, websocket.MessageBinary, f); err != nil {
				t.Fatal(err)
			}
			cancel()
		default:
			ann.write(f)
		}
		got := ann.awaitCount(c.name+" error", errs+1, isType("error"))[errs]
		if got.Code != c.code || got.ID != c.echoID || got.ClientMessageID != c.echoCM || got.text() == "" {
			t.Errorf("%s: got %s, want code %s echoing id %q and clientMessageId %q", c.name, got.raw, c.code, c.echoID, c.echoCM)
		}
		if after := value(e.metrics.FrameErrors.WithLabelValues(c.code)); after != before+1 {
			t.Errorf("%s: FrameErrors{%s} went from %v to %v", c.name, c.code, before, after)
		}
		// Still usable.
		id := "after-" + string(rune('a'+i))
		if f := ann.request(map[string]any{"type": "typing", "id": id, "sessionId": "d:ann:bob"}); f.Type != "ok" {
			t.Fatalf("after %s: typing = %s", c.name, f.raw)
		}
	}
}

func TestTokensAreCheckedBeforeTheUpgrade(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	forged, err := auth.Mint([]byte("another-secret-0123456789abcdef"), auth.Principal{UserID: "ann"}, time.Now(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	expired, err := auth.Mint(e.Secret, auth.Principal{UserID: "ann"}, time.Now().Add(-2*time.Hour), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	for name, token := range map[string]string{"none": "", "forged": forged, "expired": expired, "garbage": "a.b.c"} {
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		_, resp, err := websocket.Dial(ctx, e.wsURL()+"?token="+token, nil)
		cancel()
		if err == nil || resp == nil || resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("%s token: dial err %v, response %v", name, err, resp)
		}
		var body struct{ Code, Message string }
		if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || body.Code != "unauthorized" || body.Message == "" {
			t.Fatalf("%s token: body %+v (%v)", name, body, err)
		}
	}
	// The header works too, and a bad header is not rescued by the query.
	req, _ := http.NewRequest(http.MethodGet, e.srv.URL+"/v1/ws?token="+e.Token(t, "ann"), nil)
	req.Header.Set("Authorization", "Bearer "+forged)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(string(body), `"unauthorized"`) {
		t.Fatalf("forged header: %d %s", resp.StatusCode, body)
	}
	// Other paths go to the API; without one they are a JSON 404.
	resp, err = http.Get(e.srv.URL + "/v1/sessions")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("other path: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
}

func TestTokenExpiryClosesTheConnection(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	// exp has second precision: four seconds leave at least three to connect.
	token, err := auth.Mint(e.Secret, auth.Principal{UserID: "ann"}, time.Now(), 4*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	c := e.connectToken(t, token)
	if f := c.request(map[string]any{"type": "typing", "id": "1", "sessionId": "d:ann:bob"}); f.Code != "not_found" {
		t.Fatalf("typing = %s", f.raw)
	}
	if got := c.closed(); got != websocket.StatusPolicyViolation {
		t.Fatalf("close status %v (%v), want 1008", got, c.err)
	}
	var ce websocket.CloseError
	if errors.As(c.err, &ce); ce.Reason != "token expired" {
		t.Fatalf("close reason %q", ce.Reason)
	}
}

func TestOversizeFrameClosesWith1009(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	c := e.connect(t, "ann")
	big := `{"type":"typing","sessionId":"d:ann:bob","pad":"` + strings.Repeat("z", ws.DefaultMaxFrameBytes) + `"}`
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	_ = c.conn.Write(ctx, websocket.MessageText, []byte(big)) // may fail once the server has closed
	if got := c.closed(); got != websocket.StatusMessageTooBig {
		t.Fatalf("close status %v (%v), want 1009", got, c.err)
	}
	// A frame just under the limit is fine.
	d := e.connect(t, "ann")
	pad := ws.DefaultMaxFrameBytes - 200
	if f := d.request(map[string]any{"type": "typing", "id": "ok", "sessionId": "d:ann:bob", "pad": strings.Repeat("z", pad)}); f.Code != "not_found" {
		t.Fatalf("frame under the limit: %s", f.raw)
	}
}

func TestSendsAreRateLimitedPerUser(t *testing.T) {
	t.Parallel()
	// A rate this low refills nothing during the test: exactly the burst passes.
	e := newEnv(t, envOptions{ws: ws.Limits{SendRate: 0.001, SendBurst: 3}})
	ann1, ann2, bob := e.connect(t, "ann"), e.connect(t, "ann"), e.connect(t, "bob")
	for i, c := range []*client{ann1, ann2, ann1} {
		if f := c.request(map[string]any{"type": "send", "id": string(rune('a' + i)), "toUserId": "bob", "messageType": 1, "content": "x", "clientMessageId": string(rune('a' + i))}); f.Type != "sendAck" {
			t.Fatalf("send %d = %s", i, f.raw)
		}
	}
	f := ann2.request(map[string]any{"type": "send", "id": "d", "toUserId": "bob", "messageType": 1, "content": "x", "clientMessageId": "cd"})
	if f.Type != "error" || f.Code != "rate_limited" || f.ClientMessageID != "cd" {
		t.Fatalf("fourth send = %s", f.raw)
	}
	if got := value(e.metrics.RateLimited); got != 1 {
		t.Fatalf("RateLimited = %v", got)
	}
	// Another user has their own budget; other frames are not limited.
	if f := bob.request(map[string]any{"type": "send", "id": "b", "toUserId": "ann", "messageType": 1, "content": "x", "clientMessageId": "b"}); f.Type != "sendAck" {
		t.Fatalf("bob's send = %s", f.raw)
	}
	if f := ann1.request(map[string]any{"type": "typing", "id": "t", "sessionId": "d:ann:bob"}); f.Type != "ok" {
		t.Fatalf("typing = %s", f.raw)
	}
}
