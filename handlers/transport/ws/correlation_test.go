package ws_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tellyou/tellyou/events"
	"github.com/tellyou/tellyou/handlers/transport/ws"
)

// frameLines returns the log lines with msg about the frame of the given
// type and id, in order.
func frameLines(lines []map[string]any, msg, typ, id string) []map[string]any {
	var out []map[string]any
	for _, l := range lines {
		if l["msg"] == msg && l["type"] == typ && l["id"] == id {
			out = append(out, l)
		}
	}
	return out
}

// eventMeta returns the metadata of the session's events, by event type, in
// stream order.
func eventMeta(t *testing.T, e *liveEnv, sessionID string) map[string][]events.Metadata {
	t.Helper()
	recs, err := e.Store.ReadStream(context.Background(), sessionID, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]events.Metadata{}
	for _, r := range recs {
		env, err := events.Decode(r)
		if err != nil {
			t.Fatal(err)
		}
		out[r.Type] = append(out[r.Type], env.Meta)
	}
	return out
}

// TestFramesLogTheCorrelationIdOfTheirEvents: the log line of every frame
// that appends events carries the correlation id that the events' metadata
// holds; ids are unique per frame, even when a client reuses a frame id.
func TestFramesLogTheCorrelationIdOfTheirEvents(t *testing.T) {
	t.Parallel()
	e := newLiveEnv(t, ws.Limits{})
	alice, bob := e.dial(t, "alice", true), e.dial(t, "bob", false)

	alice.send(`{"type":"send","id":"f1","toUserId":"bob","messageType":1,"content":"first","clientMessageId":"m1"}`)
	var first sendAck
	alice.next("sendAck", &first)
	// The client reuses its frame id: the correlation id is still new.
	alice.send(`{"type":"send","id":"f1","toUserId":"bob","messageType":1,"content":"second","clientMessageId":"m2"}`)
	var second sendAck
	alice.next("sendAck", &second)
	bob.send(fmt.Sprintf(`{"type":"ack","id":"a1","sessionId":%q,"seq":2,"ackType":"read"}`, first.SessionID))
	bob.next("ok", &struct{}{})
	alice.send(fmt.Sprintf(`{"type":"recall","id":"r1","sessionId":%q,"messageId":%q}`, first.SessionID, second.MessageID))
	alice.next("ok", &struct{}{})

	meta := eventMeta(t, e, first.SessionID)
	if len(meta[events.TypeMessageSent]) != 2 || len(meta[events.TypeMessagesRead]) != 1 || len(meta[events.TypeMessageRecalled]) != 1 {
		t.Fatalf("events of the session: %v", meta)
	}
	lines := e.logs.lines(t)
	sends := frameLines(lines, "websocket frame handled", "send", "f1")
	if len(sends) != 2 {
		t.Fatalf("%d log lines for the sends, want 2: %v", len(sends), lines)
	}
	check := func(what string, line map[string]any, m events.Metadata, frameID string) {
		t.Helper()
		if line["correlation_id"] == nil || line["correlation_id"] != m.CorrelationID {
			t.Errorf("%s: log line's correlation_id %v, event's %q", what, line["correlation_id"], m.CorrelationID)
		}
		if m.CausationID != frameID || line["answer"] != "ok" || line["level"] != "DEBUG" {
			t.Errorf("%s: causation id %q (want the frame id %q), line %v", what, m.CausationID, frameID, line)
		}
	}
	check("first send", sends[0], meta[events.TypeMessageSent][0], "f1")
	check("second send", sends[1], meta[events.TypeMessageSent][1], "f1")
	acks := frameLines(lines, "websocket frame handled", "ack", "a1")
	recalls := frameLines(lines, "websocket frame handled", "recall", "r1")
	if len(acks) != 1 || len(recalls) != 1 {
		t.Fatalf("%d ack and %d recall lines, want 1 each", len(acks), len(recalls))
	}
	check("ack", acks[0], meta[events.TypeMessagesRead][0], "a1")
	check("recall", recalls[0], meta[events.TypeMessageRecalled][0], "r1")

	// Unique per frame; one connection's ids share its prefix, another's
	// do not.
	ids := map[string]bool{}
	for _, l := range []map[string]any{sends[0], sends[1], acks[0], recalls[0]} {
		ids[l["correlation_id"].(string)] = true
	}
	if len(ids) != 4 {
		t.Errorf("correlation ids %v, want 4 different ones", ids)
	}
	prefix := func(l map[string]any) string {
		id := l["correlation_id"].(string)
		return id[:strings.LastIndexByte(id, '.')]
	}
	if prefix(sends[0]) != prefix(recalls[0]) || prefix(sends[0]) != sends[0]["conn_id"] || prefix(sends[0]) == prefix(acks[0]) {
		t.Errorf("connection prefixes: alice %s and %s (conn_id %v), bob %s", prefix(sends[0]), prefix(recalls[0]),
			sends[0]["conn_id"], prefix(acks[0]))
	}
}

// TestFailedFramesLogTheirCorrelationId: a frame that fails inside the server
// is logged at warning level with its correlation id, the same as on the
// frame's own line.
func TestFailedFramesLogTheirCorrelationId(t *testing.T) {
	t.Parallel()
	e := newLiveEnv(t, ws.Limits{})
	alice := e.dial(t, "alice", true)
	alice.send(`{"type":"send","id":"s1","toUserId":"bob","messageType":1,"content":"` + strings.Repeat("long enough to store compressed ", 64) + `","clientMessageId":"m1"}`)
	var ack sendAck
	alice.next("sendAck", &ack)
	e.CaughtUp(t)
	// Damage the stored message: reading it is now an internal error.
	if _, err := e.Pool.Exec(context.Background(), `UPDATE rm_messages SET content_packed = substring(content_packed for 8)
		WHERE message_id = $1`, ack.MessageID); err != nil {
		t.Fatal(err)
	}
	alice.send(fmt.Sprintf(`{"type":"sync","id":"y1","sessionId":%q}`, ack.SessionID))
	var refused struct{ ID, Code string }
	alice.next("error", &refused)
	if refused.ID != "y1" || refused.Code != "internal" {
		t.Fatalf("sync of a damaged row answered %+v, want internal", refused)
	}
	var failed, handled []map[string]any
	deadline := time.Now().Add(10 * time.Second)
	for len(handled) == 0 && time.Now().Before(deadline) { // the handled line follows the answer
		lines := e.logs.lines(t)
		failed = frameLines(lines, "websocket frame failed", "sync", "y1")
		handled = frameLines(lines, "websocket frame handled", "sync", "y1")
		time.Sleep(5 * time.Millisecond)
	}
	if len(failed) != 1 || len(handled) != 1 {
		t.Fatalf("%d failure and %d handled lines for the sync, want 1 each", len(failed), len(handled))
	}
	f, h := failed[0], handled[0]
	if f["level"] != "WARN" || f["correlation_id"] == nil || f["correlation_id"] != h["correlation_id"] ||
		h["answer"] != "internal" || !strings.Contains(fmt.Sprint(f["err"]), ack.MessageID) {
		t.Errorf("failure line %v\nhandled line %v", f, h)
	}
}
