package gateway_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"
)

func TestRecall(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	ann1, ann2, bob := e.connect(t, "ann"), e.connect(t, "ann"), e.connect(t, "bob")
	sent := ann1.request(map[string]any{"type": "send", "id": "1", "toUserId": "bob", "messageType": 1, "content": "oops", "clientMessageId": "c1"})
	bob.await("the message", isMessage(1))

	if f := bob.request(map[string]any{"type": "recall", "id": "r0", "sessionId": "d:ann:bob", "messageId": sent.MessageID}); f.Code != "forbidden" {
		t.Fatalf("recall by non-sender = %s", f.raw)
	}
	if f := ann1.request(map[string]any{"type": "recall", "id": "r1", "sessionId": "d:ann:bob", "messageId": sent.MessageID}); f.Type != "ok" {
		t.Fatalf("recall = %s", f.raw)
	}
	for name, c := range map[string]*client{"ann1": ann1, "ann2": ann2, "bob": bob} {
		f := c.await("recalled", isType("recalled"))
		if f.SessionID != "d:ann:bob" || f.MessageID != sent.MessageID || f.Seq != 1 || f.By != "ann" {
			t.Fatalf("%s got %s", name, f.raw)
		}
	}
	if f := ann1.request(map[string]any{"type": "recall", "id": "r2", "sessionId": "d:ann:bob", "messageId": uuid.NewString()}); f.Code != "not_found" {
		t.Fatalf("recall of unknown message = %s", f.raw)
	}
	late := ann1.request(send("2", "d:ann:bob", "too late to take back"))
	e.Clock.Advance(3 * time.Minute)
	if f := ann1.request(map[string]any{"type": "recall", "id": "r3", "sessionId": "d:ann:bob", "messageId": late.MessageID}); f.Code != "forbidden" {
		t.Fatalf("recall after the window = %s", f.raw)
	}
}

func TestReceiptsReachTheOtherMembers(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	ann, bob1, bob2 := e.connect(t, "ann"), e.connect(t, "bob"), e.connect(t, "bob")
	for i := 1; i <= 3; i++ {
		e.sendCmd(t, "ann", "d:ann:bob", fmt.Sprint(i), fmt.Sprint(i))
	}
	bob1.await("third message", isMessage(3))

	if f := bob1.request(map[string]any{"type": "ack", "id": "a1", "sessionId": "d:ann:bob", "seq": 2, "ackType": "received"}); f.Type != "ok" {
		t.Fatalf("ack = %s", f.raw)
	}
	r := ann.await("received receipt", isType("receipt"))
	if r.SessionID != "d:ann:bob" || r.UserID != "bob" || r.Seq != 2 || r.AckType != "received" {
		t.Fatalf("receipt = %s", r.raw)
	}
	if f := bob1.request(map[string]any{"type": "ack", "id": "a2", "sessionId": "d:ann:bob", "seq": 3, "ackType": "read"}); f.Type != "ok" {
		t.Fatalf("ack = %s", f.raw)
	}
	// Reading implies receiving: both watermarks move to 3.
	ann.await("read receipt", func(f frame) bool { return f.Type == "receipt" && f.AckType == "read" && f.Seq == 3 })
	ann.await("received receipt", func(f frame) bool { return f.Type == "receipt" && f.AckType == "received" && f.Seq == 3 })

	// At or below the watermark: ok, nothing appended, no receipt.
	before := len(e.stream(t, "d:ann:bob"))
	if f := bob2.request(map[string]any{"type": "ack", "id": "a3", "sessionId": "d:ann:bob", "seq": 1, "ackType": "read"}); f.Type != "ok" {
		t.Fatalf("ack below the watermark = %s", f.raw)
	}
	bob2.write(map[string]any{"type": "ack", "sessionId": "d:ann:bob", "seq": 3, "ackType": "received"}) // no id: no answer
	if f := bob2.request(map[string]any{"type": "ack", "id": "a4", "sessionId": "d:ann:bob", "seq": 9, "ackType": "read"}); f.Code != "bad_request" {
		t.Fatalf("ack beyond the last message = %s", f.raw)
	}
	if after := len(e.stream(t, "d:ann:bob")); after != before {
		t.Fatalf("acks at the watermark appended: %d -> %d events", before, after)
	}
	ann.barrier()
	if got := ann.matching(isType("receipt")); len(got) != 3 {
		t.Fatalf("ann got %d receipts, want 3", len(got))
	}
	bob1.barrier()
	bob2.barrier()
	if got := append(bob1.matching(isType("receipt")), bob2.matching(isType("receipt"))...); len(got) != 0 {
		t.Fatalf("the acking user got receipts: %s", got[0].raw)
	}
	if got := bob2.matching(isType("ok")); len(got) != 1 {
		t.Fatalf("bob2 got %d ok frames, want 1", len(got))
	}
}

func TestTypingIsRelayedNotStored(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	ann1, ann2, bob := e.connect(t, "ann"), e.connect(t, "ann"), e.connect(t, "bob")
	ann1.request(map[string]any{"type": "send", "id": "1", "toUserId": "bob", "messageType": 1, "content": "hi", "clientMessageId": "c1"})
	before := len(e.stream(t, "d:ann:bob"))

	if f := ann1.request(map[string]any{"type": "typing", "id": "t1", "sessionId": "d:ann:bob"}); f.Type != "ok" {
		t.Fatalf("typing = %s", f.raw)
	}
	f := bob.await("typing", isType("typing"))
	if f.SessionID != "d:ann:bob" || f.UserID != "ann" {
		t.Fatalf("bob got %s", f.raw)
	}
	// Typing without an id is relayed too, and answered with nothing.
	ann1.write(map[string]any{"type": "typing", "sessionId": "d:ann:bob"})
	bob.awaitCount("second typing", 2, isType("typing"))
	ann1.barrier()
	ann2.barrier()
	if got := append(ann1.matching(isType("typing")), ann2.matching(isType("typing"))...); len(got) != 0 {
		t.Fatalf("the typer's devices got %s", got[0].raw)
	}
	if got := ann1.matching(isType("ok")); len(got) != 1 {
		t.Fatalf("%d ok frames, want 1 (typing without id is not answered)", len(got))
	}
	if after := len(e.stream(t, "d:ann:bob")); after != before {
		t.Fatalf("typing stored events: %d -> %d", before, after)
	}
	if f := bob.request(map[string]any{"type": "typing", "id": "t2", "sessionId": "d:ann:carl"}); f.Code != "not_found" {
		t.Fatalf("typing in an unknown session = %s", f.raw)
	}
}

func TestSyncPagesAfterSeq(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	const n = 520
	for i := 1; i <= n; i++ {
		e.sendCmd(t, "ann", "d:ann:bob", fmt.Sprint(i), fmt.Sprint(i))
	}
	e.CaughtUp(t)
	bob := e.connect(t, "bob")
	cases := []struct {
		after, limit int64 // limit 0: none given
		first, count int64
		hasMore      bool
	}{
		{0, 0, 1, 100, true},
		{0, 500, 1, 500, true},
		{100, 300, 101, 300, true},
		{400, 500, 401, 120, false},
		{n, 10, 0, 0, false},
	}
	for i, c := range cases {
		req := map[string]any{"type": "sync", "id": fmt.Sprint("q", i), "sessionId": "d:ann:bob", "afterSeq": c.after}
		if c.limit > 0 {
			req["limit"] = c.limit
		}
		f := bob.request(req)
		if f.Type != "messages" || f.SessionID != "d:ann:bob" || f.LastSeq != n || f.HasMore != c.hasMore || int64(len(f.Messages)) != c.count {
			t.Fatalf("sync after %d limit %d: type %s, %d messages, lastSeq %d, hasMore %v", c.after, c.limit, f.Type, len(f.Messages), f.LastSeq, f.HasMore)
		}
		for j, m := range f.Messages {
			if m.Seq != c.first+int64(j) || m.Content != fmt.Sprint(m.Seq) {
				t.Fatalf("sync after %d: message %d has seq %d content %q", c.after, j, m.Seq, m.Content)
			}
		}
	}
	if f := bob.request(map[string]any{"type": "sync", "id": "big", "sessionId": "d:ann:bob", "limit": 501}); f.Code != "bad_request" {
		t.Fatalf("limit 501 = %s", f.raw)
	}
	carl := e.connect(t, "carl")
	if f := carl.request(map[string]any{"type": "sync", "id": "x", "sessionId": "d:ann:bob"}); f.Code != "forbidden" {
		t.Fatalf("sync by non-member = %s", f.raw)
	}
}
