package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/google/uuid"

	"github.com/tellyou/tellyou/cmd/tellyou/servertest"
	"github.com/tellyou/tellyou/events/pgstore/pgtest"
)

// readyLimit is how long /readyz may take to answer, whatever the
// dependencies do.
const readyLimit = time.Second

const testSecret = "serve-test-secret-0123456789abcdef"

// readyAnswer is one /readyz answer and how long it took.
type readyAnswer struct {
	status int
	reason string
	took   time.Duration
}

// ready asks the node's /readyz once and fails the test if the answer takes
// longer than readyLimit.
func (n *node) ready(t *testing.T) readyAnswer {
	t.Helper()
	client := &http.Client{Timeout: 10 * time.Second}
	start := time.Now()
	resp, err := client.Get(n.base + "/readyz")
	if err != nil {
		t.Fatalf("GET /readyz: %v", err)
	}
	defer resp.Body.Close()
	var body struct{ Status, Reason string }
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatalf("GET /readyz: decode: %v", err)
	}
	a := readyAnswer{status: resp.StatusCode, reason: body.Reason, took: time.Since(start)}
	if a.took > readyLimit {
		t.Fatalf("/readyz answered %d %q after %v, want within %v", a.status, a.reason, a.took, readyLimit)
	}
	return a
}

// waitReadyz asks /readyz until want holds, each answer within readyLimit,
// and returns the answer that held.
func (n *node) waitReadyz(t *testing.T, timeout time.Duration, what string, want func(readyAnswer) bool) readyAnswer {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		a := n.ready(t)
		if want(a) {
			return a
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: /readyz still answers %d %q after %v", what, a.status, a.reason, timeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func notReadyFor(dependency string) func(readyAnswer) bool {
	return func(a readyAnswer) bool {
		return a.status == http.StatusServiceUnavailable && strings.Contains(a.reason, dependency)
	}
}

func isReady(a readyAnswer) bool { return a.status == http.StatusOK }

// TestReadyzNamesASilentEventStoreWithinASecond silences PostgreSQL under a
// running node (a forwarder keeps the node's connections open and passes no
// bytes): /readyz answers 503 naming the event store within a second, every
// time, and 200 again once the database speaks.
func TestReadyzNamesASilentEventStoreWithinASecond(t *testing.T) {
	t.Parallel()
	fwd, url := pgForwarderFor(t, pgtest.NewDatabase(t))
	n := startNodeEnv(t, map[string]string{"TELLYOU_DATABASE_URL": url, "TELLYOU_JWT_SECRET": testSecret})
	t.Cleanup(fwd.Speak) // before the node stops
	if a := n.ready(t); a.status != http.StatusOK {
		t.Fatalf("/readyz before the fault = %+v", a)
	}

	fwd.Silence()
	for i := range 3 {
		a := n.ready(t)
		if !notReadyFor("event store")(a) {
			t.Fatalf("/readyz %d with the database silent = %d %q, want 503 naming the event store", i, a.status, a.reason)
		}
		t.Logf("silent database: %d %q in %v", a.status, a.reason, a.took)
	}

	fwd.Speak()
	n.waitReadyz(t, 30*time.Second, "after the database speaks again", isReady)
}

// TestReadyzNamesALostNATSBusWithinASecond freezes, then kills, the NATS
// server of a node running with the NATS bus: /readyz answers 503 naming the
// bus within a second (a frozen server leaves the connection up but does not
// answer; a killed one drops it), and 200 again once the server runs again
// on the same port.
func TestReadyzNamesALostNATSBusWithinASecond(t *testing.T) {
	t.Parallel()
	ns := servertest.NewNATSServer(t)
	prefix := "ready_" + strings.ReplaceAll(uuid.NewString(), "-", "")[:12]
	n := startNodeEnv(t, map[string]string{"TELLYOU_DATABASE_URL": pgtest.NewDatabase(t), "TELLYOU_JWT_SECRET": testSecret,
		"TELLYOU_BUS": ns.URL(), "TELLYOU_BUS_PREFIX": prefix})
	if a := n.ready(t); a.status != http.StatusOK {
		t.Fatalf("/readyz before the fault = %+v", a)
	}

	ns.Freeze(t)
	a := n.waitReadyz(t, 5*time.Second, "after NATS is frozen", notReadyFor("message bus (NATS) did not answer"))
	t.Logf("NATS frozen: %d %q in %v", a.status, a.reason, a.took)
	ns.Thaw(t)
	n.waitReadyz(t, 30*time.Second, "after NATS is thawed", isReady)

	ns.Kill(t)
	a = n.waitReadyz(t, 5*time.Second, "after NATS is killed", notReadyFor("message bus (NATS) disconnected"))
	t.Logf("NATS gone: %d %q in %v", a.status, a.reason, a.took)

	ns.Start(t)
	n.waitReadyz(t, 30*time.Second, "after NATS is back", isReady)
}

// TestSendWhileTheDatabaseIsSilentIsUnavailableWithinTheDeadline sends
// over WebSocket, and asks over HTTP, while PostgreSQL passes no bytes:
// both are answered unavailable within the request timeout, the send never
// acked; once the database speaks again the same send is acked.
func TestSendWhileTheDatabaseIsSilentIsUnavailableWithinTheDeadline(t *testing.T) {
	t.Parallel()
	const timeout = 2 * time.Second
	const slack = time.Second
	fwd, url := pgForwarderFor(t, pgtest.NewDatabase(t))
	n := startNodeEnv(t, map[string]string{"TELLYOU_DATABASE_URL": url, "TELLYOU_JWT_SECRET": testSecret,
		"TELLYOU_REQUEST_TIMEOUT": timeout.String()})
	t.Cleanup(fwd.Speak) // before the node stops
	ann := n.dial(t, "ann")
	writeFrame(t, ann, `{"type":"send","id":"s1","toUserId":"bob","messageType":1,"content":"before","clientMessageId":"c1"}`)
	if f := readUntil(t, ann, "sendAck"); f["id"] != "s1" {
		t.Fatalf("sendAck before the fault = %v", f)
	}

	fwd.Silence()
	// Pipelined sends to one session, which the node would append together.
	const pipelined = 3
	during := func(i int) string {
		return fmt.Sprintf(`{"type":"send","id":"s-%d","toUserId":"bob","messageType":1,"content":"during %d","clientMessageId":"c-%d"}`, i, i, i)
	}
	start := time.Now()
	for i := range pipelined {
		writeFrame(t, ann, during(i))
	}
	for i := range pipelined {
		f := readAnswer(t, ann, timeout+slack-time.Since(start))
		if took := time.Since(start); f["type"] != "error" || f["code"] != "unavailable" || f["id"] != fmt.Sprintf("s-%d", i) {
			t.Fatalf("send %d with the database silent answered %v after %v, want error unavailable", i, f, took)
		} else {
			t.Logf("send %d with the database silent: unavailable after %v", i, took)
		}
	}

	start = time.Now()
	if status := n.get(t, "ann", "/v1/sessions", nil); status != http.StatusServiceUnavailable {
		t.Fatalf("GET /v1/sessions with the database silent = %d, want 503", status)
	}
	if took := time.Since(start); took > timeout+slack {
		t.Fatalf("GET /v1/sessions with the database silent answered after %v, want within %v", took, timeout+slack)
	}

	fwd.Speak()
	deadline := time.Now().Add(30 * time.Second)
	for i := 0; ; i++ {
		writeFrame(t, ann, during(0))
		f := readAnswer(t, ann, timeout+slack)
		if f["type"] == "sendAck" && f["clientMessageId"] == "c-0" {
			break
		}
		if f["code"] != "unavailable" || time.Now().After(deadline) {
			t.Fatalf("resent send %d after the database speaks again = %v", i, f)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// readAnswer reads the next frame that answers one of the client's (not a
// push), within limit.
func readAnswer(t *testing.T, c *websocket.Conn, limit time.Duration) map[string]any {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	for {
		_, data, err := c.Read(ctx)
		if err != nil {
			t.Fatalf("no answer within %v: %v", limit, err)
		}
		var f map[string]any
		if err := json.Unmarshal(data, &f); err != nil {
			t.Fatalf("frame %s: %v", data, err)
		}
		switch f["type"] {
		case "sendAck", "error", "ok":
			return f
		}
	}
}
