package gateway_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/tellyou/tellyou/events"
	"github.com/tellyou/tellyou/handlers/command"
	"github.com/tellyou/tellyou/handlers/transport/ws"
)

// TestPipelinedFramesAreAnsweredInOrder writes many sends to two sessions,
// acks, and a sync without waiting for any answer: the answers come in the
// order of the frames, each session's seqs follow the order of its sends,
// and the sync, which waits for the frames before it, sees every one.
func TestPipelinedFramesAreAnsweredInOrder(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{ws: ws.Limits{SendRate: 1e6, SendBurst: 1e6, MaxPipelined: 8}})
	ann := e.connect(t, "ann")
	e.connect(t, "bob")
	e.connect(t, "carl")
	const n = 40
	var ids []string
	for i := range n {
		to := "bob"
		if i%3 == 0 {
			to = "carl"
		}
		id := fmt.Sprint("s", i)
		ann.write(map[string]any{"type": "send", "id": id, "toUserId": to, "messageType": 1,
			"content": fmt.Sprint(i), "clientMessageId": "c" + id})
		ids = append(ids, id)
	}
	ann.write(map[string]any{"type": "sync", "id": "sync", "sessionId": "d:ann:bob", "afterSeq": 0, "limit": 100})
	ids = append(ids, "sync")

	answers := ann.awaitCount("every answer", len(ids), func(f frame) bool { return f.ID != "" })
	seqs := map[string]int64{}
	for i, a := range answers {
		if a.ID != ids[i] {
			t.Fatalf("answer %d is to %s, want %s: answers out of the frames' order", i, a.ID, ids[i])
		}
		if a.Type == "messages" {
			if len(a.Messages) != int(seqs["d:ann:bob"]) {
				t.Fatalf("sync after the sends shows %d messages, want %d", len(a.Messages), seqs["d:ann:bob"])
			}
			continue
		}
		if a.Type != "sendAck" || a.Seq != seqs[a.SessionID]+1 {
			t.Fatalf("answer %s, after seq %d of %s", a.raw, seqs[a.SessionID], a.SessionID)
		}
		seqs[a.SessionID] = a.Seq
	}
}

// TestOverloadedSendIsRefusedWithARetryHint: a node whose commands wait past
// their queue delay answers a send overloaded, with retryAfterMs and the
// clientMessageId, and stores nothing.
func TestOverloadedSendIsRefusedWithARetryHint(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{admission: command.AdmissionConfig{MaxQueueDelay: time.Nanosecond, MaxInFlight: 1}})
	ann := e.connect(t, "ann")
	f := ann.request(map[string]any{"type": "send", "id": "1", "toUserId": "bob", "messageType": 1, "content": "x",
		"clientMessageId": "c1"})
	if f.Type != "error" || f.Code != "overloaded" || f.RetryAfterMs <= 0 || f.ClientMessageID != "c1" {
		t.Fatalf("answer %s, want overloaded with retryAfterMs and the clientMessageId", f.raw)
	}
	if got := e.stream(t, "d:ann:bob"); len(got) != 0 {
		t.Fatalf("the refused send stored %d events", len(got))
	}
}

// TestPipelinedSendsRefusedAsOverloadedKeepTheirOrder: a client pipelines
// sends into a node that has room for one command at a time and resends, in
// order and after the hint, what was refused. Every frame gets exactly one
// answer, in the frames' order, and the messages are stored in the order the
// client sent them (docs/protocol.md, "When the server is overloaded").
func TestPipelinedSendsRefusedAsOverloadedKeepTheirOrder(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{ws: ws.Limits{SendRate: 1e6, SendBurst: 1e6, MaxPipelined: 8},
		admission: command.AdmissionConfig{MaxInFlight: 1, MinRetryAfter: 10 * time.Millisecond}})
	ann := e.connect(t, "ann")
	const n = 20
	seqs := make([]int64, n)
	todo := make([]int, n)
	for i := range todo {
		todo[i] = i
	}
	refusals := 0
	for attempt := 0; len(todo) > 0; attempt++ {
		if attempt == 50 {
			t.Fatalf("%d sends still refused after 50 rounds", len(todo))
		}
		ids := make(map[string]int, len(todo))
		var order []string
		for _, i := range todo {
			id := fmt.Sprintf("s%d-%d", i, attempt)
			ids[id] = i
			order = append(order, id)
			ann.write(map[string]any{"type": "send", "id": id, "toUserId": "bob", "messageType": 1,
				"content": fmt.Sprint(i), "clientMessageId": fmt.Sprint("c", i)})
		}
		answers := ann.awaitCount("this round's answers", len(order), func(f frame) bool { _, ok := ids[f.ID]; return ok })
		if len(answers) != len(order) {
			t.Fatalf("round %d: %d answers to %d frames", attempt, len(answers), len(order))
		}
		var wait time.Duration
		todo = todo[:0]
		for k, a := range answers {
			if a.ID != order[k] {
				t.Fatalf("round %d: answer %d is to %s, want %s", attempt, k, a.ID, order[k])
			}
			i := ids[a.ID]
			switch {
			case a.Type == "sendAck" && !a.Duplicate:
				seqs[i] = a.Seq
			case a.Type == "error" && a.Code == "overloaded" && a.RetryAfterMs > 0:
				refusals++
				todo = append(todo, i)
				wait = max(wait, time.Duration(a.RetryAfterMs)*time.Millisecond)
			default:
				t.Fatalf("round %d: answer %s", attempt, a.raw)
			}
		}
		time.Sleep(wait)
	}
	if refusals == 0 {
		t.Fatal("no send was refused: the test did not overload the node")
	}
	for i := 1; i < n; i++ {
		if seqs[i] <= seqs[i-1] {
			t.Fatalf("message %d stored at seq %d, after message %d at seq %d: %v", i, seqs[i], i-1, seqs[i-1], seqs)
		}
	}
}

// TestFrameBehindAFullWindowIsAnsweredByItsDeadline: acks that wait on a
// database that does not answer fill a connection's window for their whole
// deadline. A send the client writes behind them is not started once the
// window has been full for WindowWait: it is answered overloaded right after
// their answers, so within the deadline of its own arrival, not a whole
// deadline later; nothing of it is stored, and sent again once the database
// answers it is acked.
func TestFrameBehindAFullWindowIsAnsweredByItsDeadline(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{ws: ws.Limits{SendRate: 1e6, SendBurst: 1e6, MaxPipelined: 4,
		WindowWait: 100 * time.Millisecond, HandleTimeout: 2 * time.Second}})
	ann := e.connect(t, "ann")
	for i := range 4 {
		e.sendCmd(t, "bob", "d:ann:bob", fmt.Sprint("m", i), fmt.Sprint("b", i))
	}

	// Every append waits for the log's head row while this holds it.
	ctx := context.Background()
	tx, err := e.Pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	if _, err := tx.Exec(ctx, `SELECT position FROM tellyou_log_head FOR UPDATE`); err != nil {
		t.Fatal(err)
	}
	for i := range 4 {
		ann.write(map[string]any{"type": "ack", "id": fmt.Sprint("a", i), "sessionId": "d:ann:bob", "seq": i + 1, "ackType": "received"})
	}
	ann.write(map[string]any{"type": "send", "id": "s1", "toUserId": "bob", "messageType": 1, "content": "behind", "clientMessageId": "c-behind"})
	answers := ann.awaitCount("five answers", 5, func(f frame) bool { return f.ID != "" })
	for i, a := range answers[:4] {
		if a.ID != fmt.Sprint("a", i) || a.Type != "error" || a.Code != "unavailable" {
			t.Fatalf("answer %d: %s, want ack a%d answered unavailable at its deadline", i, a.raw, i)
		}
	}
	if a := answers[4]; a.ID != "s1" || a.Type != "error" || a.Code != "overloaded" || a.RetryAfterMs <= 0 || a.ClientMessageID != "c-behind" {
		t.Fatalf("the send behind the window: %s, want overloaded with retryAfterMs and its clientMessageId", a.raw)
	}
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}

	ack := ann.request(map[string]any{"type": "send", "id": "s2", "toUserId": "bob", "messageType": 1, "content": "behind", "clientMessageId": "c-behind"})
	if ack.Type != "sendAck" || ack.Duplicate {
		t.Fatalf("the send again: %s, want a first sendAck", ack.raw)
	}
	stored := 0
	for _, env := range e.stream(t, "d:ann:bob") {
		if sent, ok := env.Payload.(events.MessageSent); ok && sent.ClientMessageID == "c-behind" {
			stored++
		}
	}
	if stored != 1 {
		t.Fatalf("c-behind stored %d times, want once", stored)
	}
}
