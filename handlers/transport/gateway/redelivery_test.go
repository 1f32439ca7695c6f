package gateway_test

import (
	"testing"
	"time"

	"github.com/tellyou/tellyou/handlers/delivery"
)

func TestUnackedMessagesArePushedAgainThreeTimes(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{push: delivery.Options{RedeliveryTimeout: 300 * time.Millisecond}})
	ann, ann2, bob := e.connect(t, "ann"), e.connect(t, "ann"), e.connect(t, "bob")

	// Seq 1 is acked at once (the received watermark, from the log, stops its
	// redelivery); seq 2 is never acked.
	ann.request(map[string]any{"type": "send", "id": "1", "toUserId": "bob", "messageType": 1, "content": "acked", "clientMessageId": "c1"})
	if f := bob.request(map[string]any{"type": "ack", "id": "a1", "sessionId": "d:ann:bob", "seq": 1, "ackType": "received"}); f.Type != "ok" {
		t.Fatalf("ack = %s", f.raw)
	}
	ann.request(send("2", "d:ann:bob", "not acked"))
	bob.awaitCount("push and 3 redeliveries of seq 2", 4, isMessage(2))
	eventually(t, "Redeliveries reaches 3", func() bool { return value(e.metrics.Redeliveries) >= 3 })
	if got := value(e.metrics.Redeliveries); got != 3 {
		t.Fatalf("Redeliveries = %v after seq 2's three, want 3", got)
	}

	// Seq 3's first redelivery comes one timeout after its push, later than a
	// fourth redelivery of seq 2 would have: the queue to bob is in order.
	ann.request(send("3", "d:ann:bob", "later"))
	bob.awaitCount("seq 3 pushed again", 2, isMessage(3))
	if got := len(bob.matching(isMessage(2))); got != 4 {
		t.Fatalf("seq 2 pushed %d times, want 1 + 3", got)
	}
	if got := len(bob.matching(isMessage(1))); got != 1 {
		t.Fatalf("acked seq 1 pushed %d times, want 1", got)
	}
	// The sender's other devices are not redelivered to: they never ack
	// their own messages (which are not in the sender's inbox).
	ann2.barrier()
	if got := len(ann2.matching(isMessage(2))); got != 1 {
		t.Fatalf("the sender's other device got seq 2 %d times, want 1", got)
	}
	if got := len(ann.matching(isType("message"))); got != 0 {
		t.Fatalf("the sending connection got %d pushes", got)
	}
	for _, f := range bob.matching(isMessage(2)) {
		if m := f.msg(); m.Content != "not acked" || m.SenderID != "ann" {
			t.Fatalf("redelivered %s", f.raw)
		}
	}
}
