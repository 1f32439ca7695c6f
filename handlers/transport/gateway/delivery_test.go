package gateway_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/tellyou/tellyou/handlers/command"
	"github.com/tellyou/tellyou/handlers/transport/ws"
)

func TestMessagesReachEveryOtherDeviceInSeqOrder(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	ann1, ann2 := e.connect(t, "ann"), e.connect(t, "ann")
	bob1, bob2 := e.connect(t, "bob"), e.connect(t, "bob")

	first := ann1.request(map[string]any{"type": "send", "id": "s0", "toUserId": "bob", "messageType": 1,
		"content": "hello", "clientMessageId": "c-s0", "clientTimestamp": 1700000000000, "ext": map[string]any{"k": "v"}})
	if first.Type != "sendAck" || first.SessionID != "d:ann:bob" || first.Seq != 1 || first.Duplicate ||
		first.ClientMessageID != "c-s0" || first.MessageID == "" || first.ServerTimestamp == 0 ||
		first.AdjustedTimestamp != first.ServerTimestamp { // the client clock is far off
		t.Fatalf("sendAck = %s", first.raw)
	}
	const n = 40
	acks := map[int64]frame{1: first}
	for i := 1; i < n; i++ {
		ann1.write(send(fmt.Sprintf("s%d", i), "d:ann:bob", fmt.Sprintf("m%d", i)))
	}
	for i := 1; i < n; i++ {
		a := ann1.answer(fmt.Sprintf("s%d", i))
		if a.Type != "sendAck" {
			t.Fatalf("answer: %s", a.raw)
		}
		acks[a.Seq] = a
	}
	if len(acks) != n {
		t.Fatalf("%d distinct seqs for %d sends", len(acks), n)
	}

	for name, c := range map[string]*client{"ann2": ann2, "bob1": bob1, "bob2": bob2} {
		got := c.awaitCount("messages on "+name, n, isType("message"))
		for i, f := range got {
			m := f.msg()
			a := acks[int64(i+1)]
			if m.Seq != int64(i+1) || m.SessionID != "d:ann:bob" || m.SenderID != "ann" || m.MessageID != a.MessageID ||
				m.ClientMessageID != a.ClientMessageID || m.ServerTimestamp != a.ServerTimestamp ||
				m.AdjustedTimestamp != a.AdjustedTimestamp || m.MessageType != 1 || m.Recalled {
				t.Fatalf("%s: push %d = %s, sendAck %s", name, i, f.raw, a.raw)
			}
		}
		if m := got[0].msg(); m.Content != "hello" || string(m.Ext) != `{"k":"v"}` || m.ClientTimestamp != 1700000000000 {
			t.Fatalf("%s: first push = %s", name, got[0].raw)
		}
	}
	ann1.barrier()
	if got := ann1.matching(isType("message")); len(got) != 0 {
		t.Fatalf("the sending connection was pushed its own messages: %d", len(got))
	}
}

func TestGroupDeliveryFollowsMembership(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	ann, bob, carl, dave := e.connect(t, "ann"), e.connect(t, "bob"), e.connect(t, "carl"), e.connect(t, "dave")
	g := e.group(t, "ann", "bob", "carl")

	ack := ann.request(send("g1", g, "to all"))
	if ack.Type != "sendAck" || ack.Seq != 1 {
		t.Fatalf("sendAck = %s", ack.raw)
	}
	bob.await("first group message", isMessage(1))
	carl.await("first group message", isMessage(1))

	ctx := context.Background()
	if _, err := e.Commands.ChangeMembers.Handle(ctx, command.ChangeMembers{Meta: command.RequestMeta{Actor: "ann"},
		SessionID: g, Remove: []string{"carl"}, Add: []string{"dave"}}); err != nil {
		t.Fatal(err)
	}
	if ack := ann.request(send("g2", g, "without carl")); ack.Seq != 2 {
		t.Fatalf("sendAck = %s", ack.raw)
	}
	bob.await("second group message", isMessage(2))
	dave.await("second group message", isMessage(2))
	carl.barrier()
	if got := carl.matching(isMessage(2)); len(got) != 0 {
		t.Fatalf("removed member got %s", got[0].raw)
	}
	if got := dave.matching(isMessage(1)); len(got) != 0 {
		t.Fatalf("added member got an earlier message pushed: %s", got[0].raw)
	}
	// A removed member's frames naming the group are refused.
	if f := carl.request(send("g3", g, "still here?")); f.Type != "error" || f.Code != "forbidden" || f.ClientMessageID != "c-g3" {
		t.Fatalf("send by removed member = %s", f.raw)
	}
}

func TestDuplicateSendAnswersTheOriginalAndPushesOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	ann, bob := e.connect(t, "ann"), e.connect(t, "bob")
	first := ann.request(map[string]any{"type": "send", "id": "1", "toUserId": "bob", "messageType": 1, "content": "once", "clientMessageId": "same"})
	again := ann.request(map[string]any{"type": "send", "id": "2", "toUserId": "bob", "messageType": 1, "content": "once", "clientMessageId": "same"})
	if first.Type != "sendAck" || first.Duplicate || again.Type != "sendAck" || !again.Duplicate ||
		again.MessageID != first.MessageID || again.Seq != first.Seq || again.SessionID != first.SessionID ||
		again.ServerTimestamp != first.ServerTimestamp || again.ClientMessageID != "same" {
		t.Fatalf("first %s, again %s", first.raw, again.raw)
	}
	if next := ann.request(send("3", "d:ann:bob", "next")); next.Seq != 2 {
		t.Fatalf("next sendAck = %s", next.raw)
	}
	bob.await("the next message", isMessage(2))
	if got := bob.matching(isMessage(1)); len(got) != 1 {
		t.Fatalf("bob got the message %d times", len(got))
	}
	if sent := e.stream(t, "d:ann:bob"); len(sent) != 3 { // SessionCreated and two MessageSent
		t.Fatalf("stream holds %d events", len(sent))
	}
}

// TestEachPushOnceWithAndWithoutTheFastPath sends from several connections
// to several sessions at once. With the fast path on, pushes come from the
// appenders and the follower's copies are dropped; with it off, the follower
// of the log delivers everything. Either way every recipient gets every
// message once, in seq order, and nothing more after the follower has
// passed them all.
func TestEachPushOnceWithAndWithoutTheFastPath(t *testing.T) {
	t.Parallel()
	for _, fast := range []bool{true, false} {
		t.Run(fmt.Sprint("fastPath=", fast), func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, envOptions{noFastPath: !fast, ws: ws.Limits{SendRate: 1e6, SendBurst: 1e6}})
			const senders, each = 4, 30
			bob := e.connect(t, "bob")
			var conns []*client
			for i := range senders {
				conns = append(conns, e.connect(t, fmt.Sprintf("s%d", i)))
			}
			for i := range each {
				for s, c := range conns {
					c.write(map[string]any{"type": "send", "id": fmt.Sprintf("m%d", i), "toUserId": "bob", "messageType": 1,
						"content": fmt.Sprint(i), "clientMessageId": fmt.Sprintf("c%d-%d", s, i)})
				}
			}
			for _, c := range conns {
				for i := range each {
					if a := c.answer(fmt.Sprintf("m%d", i)); a.Type != "sendAck" {
						t.Fatalf("answer: %s", a.raw)
					}
				}
			}
			got := bob.awaitCount("every message", senders*each, isType("message"))
			checkOncePerSessionInOrder(t, got, senders, each)
			events := senders * (each + 1) // each session is a SessionCreated and its messages
			counter := func(source, outcome string) float64 {
				return value(e.metrics.DeliveryEvents.WithLabelValues(source, outcome))
			}
			delivered := func() float64 { return counter("fast", "delivered") + counter("log", "delivered") }
			repeated := func() float64 { return counter("fast", "repeated") + counter("log", "repeated") }
			eventually(t, "every event delivered once", func() bool { return delivered() == float64(events) })
			if fast {
				// Each event came twice (fast path and follower): once
				// delivered, once dropped as the copy.
				eventually(t, "the follower to pass every event", func() bool { return repeated() == float64(events) })
			}
			bob.barrier()
			checkOncePerSessionInOrder(t, bob.matching(isType("message")), senders, each)
			if fast && counter("fast", "delivered") == 0 {
				t.Fatal("nothing came by the fast path")
			}
			if !fast && counter("fast", "delivered") != 0 {
				t.Fatal("the fast path delivered while switched off")
			}
		})
	}
}

// checkOncePerSessionInOrder checks that got holds seqs 1..each of each of
// sessions sessions once, in order per session.
func checkOncePerSessionInOrder(t *testing.T, got []frame, sessions, each int) {
	t.Helper()
	next := map[string]int64{}
	for _, f := range got {
		m := f.msg()
		if m.Seq != next[m.SessionID]+1 {
			t.Fatalf("%s: push of seq %d after %d", m.SessionID, m.Seq, next[m.SessionID])
		}
		next[m.SessionID] = m.Seq
	}
	if len(next) != sessions || len(got) != sessions*each {
		t.Fatalf("%d pushes in %d sessions, want %d in %d", len(got), len(next), sessions*each, sessions)
	}
}
