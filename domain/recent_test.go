package domain_test

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/tellyou/tellyou/domain"
	"github.com/tellyou/tellyou/events"
)

// TestDedupKeyedBySenderAndClientID sends the same clientMessageId from many
// senders, and pairs whose concatenations are equal: each retry is answered
// with its own sender's original, never another's.
func TestDedupKeyedBySenderAndClientID(t *testing.T) {
	t.Parallel()
	p := domain.DefaultPolicy()
	senders := []string{"a", "ab", "abc", "b", "alice", "bob"}
	s := groupSession(t, p, senders[0], senders[1:]...)
	type pair struct{ sender, cmid string }
	pairs := []pair{
		{"a", "bc1"}, {"ab", "c1"}, {"abc", "1"}, // the same bytes once concatenated
		{"a", "same"}, {"ab", "same"}, {"abc", "same"}, {"b", "same"}, {"alice", "same"}, {"bob", "same"},
		{"alice", "Same"}, {"alice", "same "}, {"bob", strings.Repeat("é", 64)},
	}
	orig := make(map[pair]domain.SendResult)
	for i, pr := range pairs {
		cmd := sendCmd(s, pr.sender, pr.cmid, t0+int64(i))
		res := mustSend(t, s, p, cmd)
		if res.Duplicate {
			t.Fatalf("first send of %+v answered as a duplicate: %+v", pr, res)
		}
		orig[pr] = res
	}
	for _, pr := range pairs {
		cmd := sendCmd(s, pr.sender, pr.cmid, t0+time.Hour.Milliseconds())
		cmd.MessageID = msgID(424242) // a retry gets a fresh id; the original's is answered
		res, evs, err := domain.DecideSend(s, p, cmd)
		want := orig[pr]
		want.Duplicate = true
		if err != nil || evs != nil || res != want {
			t.Fatalf("retry of %+v = %+v, %v, %v; want %+v", pr, res, evs, err, want)
		}
	}
}

// TestMessageIDsThatAreNotUUIDs applies hand-made events whose message ids
// are not canonical uuids: a retry is answered with the exact id, and a
// recall finds the message by it.
func TestMessageIDsThatAreNotUUIDs(t *testing.T) {
	t.Parallel()
	p := domain.DefaultPolicy()
	s := groupSession(t, p, "alice", "bob")
	const base = "6f1c2c43-3f65-4a8e-9a0e-2d8f4d3b1a10"
	upper := strings.ToUpper(base)
	ids := []string{"m-1", upper, "{" + base + "}", "urn:uuid:" + base, base, "", "m-1"}
	for i, id := range ids {
		applyAll(s, events.MessageSent{SessionID: groupID, MessageID: id, Seq: int64(i + 1), SenderID: "alice",
			MessageType: 1, Content: "x", ClientMessageID: fmt.Sprint("c", i), ServerTimestamp: t0 + int64(i), AdjustedTimestamp: t0})
	}
	for i, id := range ids {
		res, _, err := domain.DecideSend(s, p, sendCmd(s, "alice", fmt.Sprint("c", i), t0+10))
		if err != nil || !res.Duplicate || res.MessageID != id || res.Seq != int64(i+1) {
			t.Fatalf("retry %d = %+v, %v; want message id %q at seq %d", i, res, err, id, i+1)
		}
	}
	if got := domain.RetainedMemoryOf(s).OtherIDs; got != 5 {
		t.Fatalf("state keeps the text of %d message ids, want 5", got)
	}
	// A recall names the message by its exact id; "m-1" is the later message.
	for _, tt := range []struct {
		id  string
		seq int64
	}{{upper, 2}, {base, 5}, {"m-1", 7}} {
		evs, err := domain.DecideRecall(s, p, domain.RecallCommand{UserID: "alice", SessionID: groupID, MessageID: tt.id, Now: t0 + 10})
		if err != nil || len(evs) != 1 || evs[0].(events.MessageRecalled).Seq != tt.seq {
			t.Fatalf("recall of %q = %v, %v; want seq %d", tt.id, evs, err, tt.seq)
		}
	}
	_, err := domain.DecideRecall(s, p, domain.RecallCommand{UserID: "alice", SessionID: groupID, MessageID: strings.ToUpper("0b8d6f0e-5d1c-4c1e-9f62-3c5d0c2a8e11"), Now: t0 + 10})
	if !errors.Is(err, domain.ErrUnknownMessage) {
		t.Fatalf("recall of an unknown upper-case id = %v, want ErrUnknownMessage", err)
	}

	// Once the messages leave the retention, their ids' text goes too.
	mustSend(t, s, p, sendCmd(s, "bob", "later", t0+25*time.Hour.Milliseconds()))
	if got := domain.RetainedMemoryOf(s).OtherIDs; got != 0 {
		t.Fatalf("state keeps the text of %d message ids after they expired, want 0", got)
	}
}

// TestCloneAfterCompaction clones a state whose queue has been compacted many
// times: the clone answers every retry and recall as the original does, and
// each goes on independently.
func TestCloneAfterCompaction(t *testing.T) {
	t.Parallel()
	p := domain.DefaultPolicy()
	p.DedupWindow = time.Minute // retention: the recall window and its margin, 180 messages
	p.EditWindow = p.RecallWindow
	s := groupSession(t, p, "alice", "bob")
	const n = 1000
	results := make([]domain.SendResult, n+1)
	for i := 1; i <= n; i++ {
		results[i] = mustSend(t, s, p, sendCmd(s, []string{"alice", "bob"}[i%2], msgID(i), t0+int64(i)*1000))
	}
	if queued, _, _ := domain.RetainedMessages(s); queued != 181 {
		t.Fatalf("state holds %d messages, want 181", queued)
	}
	now := t0 + n*1000 + 500

	// answers returns what the state answers to a retry and a recall of each
	// message sent.
	answers := func(s *domain.Session) []string {
		out := make([]string, 0, n)
		for i := 1; i <= n; i++ {
			sender := []string{"alice", "bob"}[i%2]
			res, _, err := domain.DecideSend(s, p, sendCmd(s, sender, msgID(i), now))
			evs, rerr := domain.DecideRecall(s, p, domain.RecallCommand{UserID: sender, SessionID: groupID, MessageID: results[i].MessageID, Now: now})
			out = append(out, fmt.Sprint(res, err, evs, rerr))
		}
		return out
	}
	before := answers(s)
	c := s.Clone()
	if got := answers(c); !reflect.DeepEqual(got, before) {
		t.Fatal("the clone answers differently from the original")
	}
	if !reflect.DeepEqual(c.Clone(), s.Clone()) {
		t.Fatal("a clone of the clone differs from a clone of the original")
	}

	// The clone moves on: recalls, more sends, more compactions.
	applyAll(c, events.MessageRecalled{SessionID: groupID, MessageID: results[n].MessageID, Seq: n, By: "bob", RecalledAt: now})
	for i := n + 1; i <= n+400; i++ {
		mustSend(t, c, p, sendCmd(c, "alice", msgID(i), t0+int64(i)*1000))
	}
	if got := answers(s); !reflect.DeepEqual(got, before) {
		t.Fatal("the original changed through its clone")
	}
	// And the original moves on without the clone seeing it.
	cBefore := answers(c)
	for i := n + 1; i <= n+400; i++ {
		mustSend(t, s, p, sendCmd(s, "bob", "other"+msgID(i), t0+int64(i)*1000))
	}
	if got := answers(c); !reflect.DeepEqual(got, cBefore) {
		t.Fatal("the clone changed through the original")
	}
}

// TestRecallOfRecalledMessage retries a recall: while the state keeps the
// message, the retry is answered without events, even after the window and
// by the sender only; once the state no longer keeps it, the message is
// unknown here and the caller asks the read side.
func TestRecallOfRecalledMessage(t *testing.T) {
	t.Parallel()
	p := domain.DefaultPolicy()
	p.EditWindow = p.RecallWindow // the state keeps messages by id for the recall window alone
	window := p.RecallWindow.Milliseconds()
	s := groupSession(t, p, "alice", "bob")
	m := mustSend(t, s, p, sendCmd(s, "alice", "m", t0))
	recall := func(user string, now int64) ([]events.Payload, error) {
		return domain.DecideRecall(s, p, domain.RecallCommand{UserID: user, SessionID: groupID, MessageID: m.MessageID, Now: now})
	}
	evs, err := recall("alice", t0+1000)
	if err != nil || len(evs) != 1 {
		t.Fatalf("recall = %v, %v", evs, err)
	}
	applyAll(s, evs...)

	check := func(name, user string, now int64, wantErr error) {
		t.Helper()
		evs, err := recall(user, now)
		if evs != nil || !errors.Is(err, wantErr) && !(err == nil && wantErr == nil) {
			t.Fatalf("%s: %v, %v; want no events and %v", name, evs, err, wantErr)
		}
	}
	check("retry", "alice", t0+2000, nil)
	check("retry by another member", "bob", t0+2000, domain.ErrForbidden)
	check("retry long after, no newer message", "alice", t0+time.Hour.Milliseconds(), nil)
	// A newer message inside the margin after the window keeps it.
	mustSend(t, s, p, sendCmd(s, "bob", "later", t0+window+time.Minute.Milliseconds()))
	check("retry after the window", "alice", t0+window+time.Minute.Milliseconds(), nil)
	// One past the margin drops it from the recall index; dedup still knows it.
	mustSend(t, s, p, sendCmd(s, "bob", "later2", t0+window+time.Minute.Milliseconds()+1))
	check("retry once the state forgot it", "alice", t0+window+time.Minute.Milliseconds()+1, domain.ErrUnknownMessage)
	if res, _, err := domain.DecideSend(s, p, sendCmd(s, "alice", "m", t0+window+time.Minute.Milliseconds()+1)); err != nil || !res.Duplicate || res.MessageID != m.MessageID {
		t.Fatalf("retry of the send = %+v, %v; want the original", res, err)
	}
}

// TestRecallAtWindowEdge recalls messages at the edges of the recall window
// and of the recall index, which keeps messages a minute longer than the
// window behind the newest message.
func TestRecallAtWindowEdge(t *testing.T) {
	t.Parallel()
	p := domain.DefaultPolicy()
	p.EditWindow = p.RecallWindow // the state keeps messages by id for the recall window alone
	window := p.RecallWindow.Milliseconds()
	margin := time.Minute.Milliseconds()
	cmd := func(id string, now int64) domain.RecallCommand {
		return domain.RecallCommand{UserID: "alice", SessionID: groupID, MessageID: id, Now: now}
	}

	t.Run("window", func(t *testing.T) {
		t.Parallel()
		s := groupSession(t, p, "alice", "bob")
		m := mustSend(t, s, p, sendCmd(s, "alice", "m", t0))
		for i := int64(1); i <= 180; i++ { // newer messages, up to the window and margin behind
			mustSend(t, s, p, sendCmd(s, "bob", fmt.Sprint(i), t0+i*1000))
		}
		if evs, err := domain.DecideRecall(s, p, cmd(m.MessageID, t0+window)); err != nil || len(evs) != 1 {
			t.Fatalf("recall at the end of the window = %v, %v", evs, err)
		}
		_, err := domain.DecideRecall(s, p, cmd(m.MessageID, t0+window+1))
		wantKind(t, err, domain.KindForbidden)
	})
	t.Run("index", func(t *testing.T) {
		t.Parallel()
		s := groupSession(t, p, "alice", "bob")
		m := mustSend(t, s, p, sendCmd(s, "alice", "m", t0))
		// Exactly the window and the margin behind the newest: still known,
		// and too old.
		mustSend(t, s, p, sendCmd(s, "bob", "n1", t0+window+margin))
		_, err := domain.DecideRecall(s, p, cmd(m.MessageID, t0+window+margin))
		wantKind(t, err, domain.KindForbidden)
		if errors.Is(err, domain.ErrUnknownMessage) {
			t.Fatalf("recall = %v, want the window passed", err)
		}
		// A millisecond more: unknown here.
		mustSend(t, s, p, sendCmd(s, "bob", "n2", t0+window+margin+1))
		_, err = domain.DecideRecall(s, p, cmd(m.MessageID, t0+window+margin+1))
		if !errors.Is(err, domain.ErrUnknownMessage) {
			t.Fatalf("recall = %v, want ErrUnknownMessage", err)
		}
	})
	t.Run("clock behind", func(t *testing.T) {
		t.Parallel()
		// A node 59 s ahead stamps a newer message; a recall decided by the
		// clock of a node behind it, at the end of the window, still finds
		// the message.
		s := groupSession(t, p, "alice", "bob")
		m := mustSend(t, s, p, sendCmd(s, "alice", "m", t0))
		mustSend(t, s, p, sendCmd(s, "bob", "ahead", t0+window+59_000))
		if evs, err := domain.DecideRecall(s, p, cmd(m.MessageID, t0+window)); err != nil || len(evs) != 1 {
			t.Fatalf("recall at the end of the window = %v, %v", evs, err)
		}
	})
}

// TestStateGivesBackMemory sends a burst, then one message an hour: once the
// burst has left the retention, the queue, the indexes and the sender names
// are sized for what the state keeps.
func TestStateGivesBackMemory(t *testing.T) {
	t.Parallel()
	p := domain.DefaultPolicy()
	s := groupSession(t, p, "alice", "bob")
	const burst = 20_000
	for i := range burst {
		// Hand-made events: senders need not be members for Apply.
		applyAll(s, events.MessageSent{SessionID: groupID, MessageID: msgID(i), Seq: int64(i + 1), SenderID: fmt.Sprint("user", i),
			MessageType: 1, Content: "x", ClientMessageID: "c", ServerTimestamp: t0 + int64(i), AdjustedTimestamp: t0})
	}
	mem := domain.RetainedMemoryOf(s)
	if mem.QueueCap < burst || mem.DedupPeak != burst || mem.RecallPeak != burst || mem.Senders != burst {
		t.Fatalf("after the burst: %+v", mem)
	}
	hour := time.Hour.Milliseconds()
	for i := int64(1); i <= 100; i++ {
		mustSend(t, s, p, sendCmd(s, "alice", fmt.Sprint("h", i), t0+i*hour))
	}
	queued, dedup, recallable := domain.RetainedMessages(s)
	if queued != 25 || dedup != 25 || recallable != 1 {
		t.Fatalf("state holds %d/%d/%d, want 25/25/1", queued, dedup, recallable)
	}
	mem = domain.RetainedMemoryOf(s)
	if mem.QueueCap > 1024 || mem.DedupPeak > 1024 || mem.RecallPeak > 1024 || mem.Senders > 100 {
		t.Fatalf("after the burst left: %+v, want all small", mem)
	}
}
