package multinodetest_test

import (
	"testing"
	"time"

	"github.com/tellyou/tellyou/cmd/tellyou/servertest"
	"github.com/tellyou/tellyou/events/pgstore/pgtest"
)

// TestEditsAndReactionsReachTheOtherNode runs two nodes on one database and
// the machine's NATS: an edit and a reaction made on node a reach the member
// connected to node b (by the bus), and the editor's other device on a; a
// reply made on b reaches a with the message it answers.
func TestEditsAndReactionsReachTheOtherNode(t *testing.T) {
	if !natsReachable() {
		t.Skip("no NATS server at 127.0.0.1:4222; start it with: nats-server -a 127.0.0.1 -p 4222 -js")
	}
	prefix := "mnconv_" + randomHex(6)
	t.Cleanup(func() { servertest.DeleteNATSStreams(t, prefix+"_events") })
	env := []string{"TELLYOU_DATABASE_URL=" + pgtest.NewDatabase(t), "TELLYOU_BUS=nats://127.0.0.1:4222", "TELLYOU_BUS_PREFIX=" + prefix}
	a := startNode(t, "a", env...)
	b := startNode(t, "b", env...)
	annA, annA2, bobB := dial(t, a, "ann@a", "ann"), dial(t, a, "ann2@a", "ann"), dial(t, b, "bob@b", "bob")

	at, err := annA.send(map[string]any{"toUserId": "bob"}, "question")
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 15*time.Second, "the message on b", func() bool { return bobB.counts()[at] == 1 })
	sent, err := annA.request(map[string]any{"type": "sync", "sessionId": at.session})
	if err != nil || sent["type"] != "messages" || len(sent["messages"].([]any)) != 1 {
		t.Fatalf("sync on a: %v %v", sent, err)
	}
	messageID := sent["messages"].([]any)[0].(map[string]any)["messageId"].(string)

	if f, err := annA.request(map[string]any{"type": "edit", "sessionId": at.session, "messageId": messageID, "content": "edited on a"}); err != nil || f["type"] != "ok" {
		t.Fatalf("edit on a: %v %v", f, err)
	}
	if f, err := annA.request(map[string]any{"type": "react", "sessionId": at.session, "messageId": messageID, "emoji": "👍"}); err != nil || f["type"] != "ok" {
		t.Fatalf("react on a: %v %v", f, err)
	}
	edited := func(f map[string]any) bool {
		return f["type"] == "edited" && f["messageId"] == messageID && f["content"] == "edited on a" &&
			f["seq"] == float64(at.seq) && f["editedAt"].(float64) > 0
	}
	reacted := func(f map[string]any) bool {
		return f["type"] == "reaction" && f["messageId"] == messageID && f["userId"] == "ann" && f["emoji"] == "👍" &&
			f["removed"] == false && f["seq"] == float64(at.seq)
	}
	for _, d := range []*device{bobB, annA2} {
		waitFor(t, 15*time.Second, "the edit and the reaction on "+d.name, func() bool {
			return len(d.pushes(edited)) == 1 && len(d.pushes(reacted)) == 1
		})
	}

	// A reply made on b reaches a with its replyTo.
	if f, err := bobB.request(map[string]any{"type": "send", "sessionId": at.session, "messageType": 1, "content": "answer",
		"clientMessageId": "reply-1", "replyTo": messageID}); err != nil || f["type"] != "sendAck" {
		t.Fatalf("reply on b: %v %v", f, err)
	}
	replyAt := key{at.session, at.seq + 1}
	waitFor(t, 15*time.Second, "the reply on a", func() bool { return annA.counts()[replyAt] == 1 })
	if got := annA.repliedTo(replyAt); got != messageID {
		t.Fatalf("the reply was pushed on a with replyTo %q, want %s", got, messageID)
	}
	if got := bobB.repliedTo(at); got != "" {
		t.Fatalf("the question was pushed with replyTo %q", got)
	}
}
