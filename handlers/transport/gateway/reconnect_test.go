package gateway_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/tellyou/tellyou/handlers/command"
	"github.com/tellyou/tellyou/handlers/delivery"
	"github.com/tellyou/tellyou/readmodels"
)

func TestReconnectAndSyncGivesEveryMessageOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{push: delivery.Options{RedeliveryTimeout: time.Hour}})
	const n = 300
	e.sendCmd(t, "ann", "d:ann:bob", "0", "0") // creates the session: seq 1
	// sendRange runs on its own goroutine: it reports, never stops the test.
	sendRange := func(from, to int) {
		for i := from; i <= to; i++ {
			if _, err := e.Commands.Send.Handle(context.Background(), command.Send{Meta: command.RequestMeta{Actor: "ann"},
				SessionID: "d:ann:bob", MessageType: 1, Content: fmt.Sprint(i), ClientMessageID: fmt.Sprint(i)}); err != nil {
				t.Errorf("send %d: %v", i, err)
				return
			}
		}
	}

	// held is what bob's device keeps, by (sessionId, seq).
	held := map[int64]readmodels.Message{}
	keep := func(from string, msgs []readmodels.Message) {
		for _, m := range msgs {
			if old, ok := held[m.Seq]; ok && old.MessageID != m.MessageID {
				t.Fatalf("%s: seq %d is %s, was %s", from, m.Seq, m.MessageID, old.MessageID)
			}
			held[m.Seq] = m
		}
	}
	pushes := func(c *client) []readmodels.Message {
		var out []readmodels.Message
		for _, f := range c.matching(isType("message")) {
			out = append(out, f.msg())
		}
		for i := 1; i < len(out); i++ {
			if out[i].Seq <= out[i-1].Seq {
				t.Fatalf("pushes out of order: seq %d after %d", out[i].Seq, out[i-1].Seq)
			}
		}
		return out
	}
	contiguous := func() int64 {
		var s int64
		for held[s+1].MessageID != "" {
			s++
		}
		return s
	}

	bob := e.connect(t, "bob")
	done := make(chan struct{})
	go func() {
		defer close(done)
		sendRange(1, n/3)
	}()
	bob.awaitCount("first pushes", 20, isType("message"))
	_ = bob.conn.Close(websocket.StatusNormalClosure, "going through a tunnel")
	bob.closed()
	keep("first connection", pushes(bob))
	<-done
	sendRange(n/3+1, 2*n/3) // while bob is away
	if t.Failed() {
		t.FailNow()
	}

	bob = e.connect(t, "bob")
	done = make(chan struct{})
	go func() {
		defer close(done)
		sendRange(2*n/3+1, n)
	}()
	// Catch up from the last seq held, page by page, while pushes flow in.
	for after := contiguous(); ; {
		f := bob.request(map[string]any{"type": "sync", "id": fmt.Sprint("sync-", after), "sessionId": "d:ann:bob", "afterSeq": after, "limit": 50})
		if f.Type != "messages" {
			t.Fatalf("sync: %s", f.raw)
		}
		keep("sync", f.Messages)
		if !f.HasMore {
			break
		}
		after = f.Messages[len(f.Messages)-1].Seq
	}
	<-done
	// The read models may trail the log: a last sync after they catch up
	// fills whatever fell between the first sync and the first push.
	e.CaughtUp(t)
	f := bob.request(map[string]any{"type": "sync", "id": "last", "sessionId": "d:ann:bob", "afterSeq": contiguous(), "limit": 500})
	keep("last sync", f.Messages)
	bob.awaitCount("the last push", 1, isMessage(n+1))
	keep("second connection", pushes(bob))

	if len(held) != n+1 || contiguous() != n+1 {
		t.Fatalf("bob holds %d messages, contiguous to %d; want 1..%d", len(held), contiguous(), n+1)
	}
	for seq, m := range held {
		if m.Content != fmt.Sprint(seq-1) {
			t.Fatalf("seq %d holds %q", seq, m.Content)
		}
	}
}
