package multinodetest_test

import (
	"testing"
	"time"

	"github.com/tellyou/tellyou/cmd/tellyou/servertest"
	"github.com/tellyou/tellyou/events/pgstore/pgtest"
)

// TestKillBetweenCommitAndPublishLosesNoPush is the crash the fast path can
// least afford: node a commits ann's third message and dies (SIGKILL, from
// the server's own fault point) before it hands the message to any
// connection or to the bus. bob, on node b, still gets it pushed, by b's
// follower of the log; ann's resend through b is answered as the duplicate
// it is, with the same seq, and pushes nothing again.
func TestKillBetweenCommitAndPublishLosesNoPush(t *testing.T) {
	if !natsReachable() {
		t.Skip("no NATS server at 127.0.0.1:4222; start it with: nats-server -a 127.0.0.1 -p 4222 -js")
	}
	prefix := "mnkill_" + randomHex(6)
	t.Cleanup(func() { servertest.DeleteNATSStreams(t, prefix+"_events") })
	env := []string{"TELLYOU_DATABASE_URL=" + pgtest.NewDatabase(t), "TELLYOU_BUS=nats://127.0.0.1:4222",
		"TELLYOU_BUS_PREFIX=" + prefix, "TELLYOU_REDELIVERY_TIMEOUT=1h"}
	a := startNode(t, "a", append(env, "TELLYOU_FAULT_KILL_AFTER_COMMIT=3")...)
	b := startNode(t, "b", env...)
	annA, bobB := dial(t, a, "ann@a", "ann"), dial(t, b, "bob@b", "bob")
	toBob := map[string]any{"toUserId": "bob"}

	for i, cid := range []string{"first", "second"} {
		k, err := annA.send(toBob, cid)
		if err != nil || k.seq != int64(i+1) {
			t.Fatalf("send %s: %+v, %v", cid, k, err)
		}
	}
	go func() { _, _ = annA.send(toBob, "third") }() // node a dies before answering
	select {
	case <-a.Done():
	case <-time.After(time.Minute):
		t.Fatal("node a did not die at its third commit")
	}
	third := key{"d:ann:bob", 3}
	waitFor(t, 30*time.Second, "bob to be pushed the third message from the log", func() bool {
		return bobB.counts()[third] == 1
	})

	annB := dial(t, b, "ann@b", "ann")
	f, err := annB.request(map[string]any{"type": "send", "messageType": 1, "content": "text of third",
		"clientMessageId": "third", "toUserId": "bob"})
	if err != nil || f["type"] != "sendAck" || f["duplicate"] != true || f["seq"] != float64(3) {
		t.Fatalf("resend through b: %v, %v; want the duplicate at seq 3", f, err)
	}
	if k, err := annB.send(toBob, "fourth"); err != nil || k.seq != 4 {
		t.Fatalf("send fourth: %+v, %v", k, err)
	}
	waitFor(t, 30*time.Second, "bob to be pushed the fourth", func() bool { return bobB.counts()[key{"d:ann:bob", 4}] == 1 })
	time.Sleep(500 * time.Millisecond) // the follower of b passes everything
	for seq := int64(1); seq <= 4; seq++ {
		if n := bobB.counts()[key{"d:ann:bob", seq}]; n != 1 {
			t.Errorf("bob was pushed seq %d %d times, want once", seq, n)
		}
	}
}
