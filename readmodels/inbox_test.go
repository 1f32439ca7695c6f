package readmodels_test

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/google/uuid"

	"github.com/tellyou/tellyou/events"
	"github.com/tellyou/tellyou/readmodels"
)

func TestUnreadCountsOthersMessagesAboveRead(t *testing.T) {
	t.Parallel()
	env, q := newEnv(t)
	g := env.CreateGroup("team", "alice", "bob", "carol")
	g.Send("alice", "1")
	g.Send("bob", "2")
	m3 := g.Send("alice", "3")
	g.Send("carol", "4")
	g.Send("bob", "5")
	d, _ := env.CreateDirect("bob", "alice", "d1")
	d.Send("bob", "d2")
	env.WaitCaughtUp()

	for _, tc := range []struct {
		user    string
		total   int64
		perSess map[string]int64
	}{
		{"alice", 5, map[string]int64{g.ID: 3, d.ID: 2}},
		{"bob", 3, map[string]int64{g.ID: 3}},
		{"carol", 4, map[string]int64{g.ID: 4}},
		{"nobody", 0, map[string]int64{}},
	} {
		u, err := q.Unread(ctx, tc.user)
		if err != nil {
			t.Fatal(err)
		}
		if u.Total != tc.total || !mapsEqual(u.Sessions, tc.perSess) {
			t.Errorf("unread of %s = %+v, want %d %v", tc.user, u, tc.total, tc.perSess)
		}
	}

	g.Read("bob", 3)
	g.Recall(m3) // above carol's read watermark: no longer unread for her
	env.WaitCaughtUp()
	if u, _ := q.Unread(ctx, "bob"); u.Total != 1 || u.Sessions[g.ID] != 1 {
		t.Errorf("bob after reading to 3 = %+v, want 1 (carol's 4)", u)
	}
	if u, _ := q.Unread(ctx, "carol"); u.Total != 3 {
		t.Errorf("carol after recall = %+v, want 3", u)
	}
	g.Read("bob", 5)
	env.WaitCaughtUp()
	u, _ := q.Unread(ctx, "bob")
	if js, _ := json.Marshal(u); string(js) != `{"total":0,"sessions":{}}` {
		t.Errorf("bob all read: %s", js)
	}
}

func TestWatermarksNeverMoveBack(t *testing.T) {
	t.Parallel()
	env, q := newEnv(t)
	g := env.CreateGroup("team", "alice", "bob")
	for range 6 {
		g.Send("alice", "m")
	}
	g.Read("bob", 5)
	env.Append(g.ID,
		events.MessagesRead{SessionID: g.ID, UserID: "bob", UpToSeq: 2},
		events.MessagesReceived{SessionID: g.ID, UserID: "bob", UpToSeq: 1})
	g.Received("bob", 6)
	g.Received("bob", 4)
	env.WaitCaughtUp()
	s, err := q.Session(ctx, g.ID, "bob")
	if err != nil {
		t.Fatal(err)
	}
	if s.ReadSeq != 5 || s.ReceivedSeq != 6 || s.UnreadCount != 1 {
		t.Errorf("bob = read %d received %d unread %d, want 5 6 1", s.ReadSeq, s.ReceivedSeq, s.UnreadCount)
	}
	// Watermarks of non-members are ignored.
	g.Read("mallory", 6)
	env.WaitCaughtUp()
	if list, _ := q.Sessions(ctx, "mallory"); len(list) != 0 {
		t.Errorf("a watermark made mallory a member: %v", sessionIDs(list))
	}
}

func TestInboxOthersMessagesAboveReceivedOldestFirst(t *testing.T) {
	t.Parallel()
	env, q := newEnv(t)
	g := env.CreateGroup("team", "alice", "bob")
	d, _ := env.CreateDirect("carol", "bob", "c1") // d:bob:carol seq 1
	g.Send("alice", "g1")
	g.Send("bob", "mine") // bob's own: never in his inbox
	d.Send("carol", "c2")
	recalled := g.Send("alice", "g3")
	g.Recall(recalled)
	d.Send("bob", "mine too")
	d.Send("carol", "c4")
	env.WaitCaughtUp()

	type key struct {
		session string
		seq     int64
	}
	keys := func(msgs []readmodels.Message) []key {
		var out []key
		for _, m := range msgs {
			out = append(out, key{m.SessionID, m.Seq})
		}
		return out
	}
	in, err := q.Inbox(ctx, "bob", 0)
	if err != nil {
		t.Fatal(err)
	}
	want := []key{{d.ID, 1}, {g.ID, 1}, {d.ID, 2}, {g.ID, 3}, {d.ID, 4}}
	if got := keys(in); !slices.Equal(got, want) {
		t.Fatalf("bob's inbox %v, want %v", got, want)
	}
	if !in[3].Recalled || in[3].Content != "" {
		t.Errorf("recalled message in inbox = %+v", in[3])
	}
	if in, _ := q.Inbox(ctx, "bob", 2); !slices.Equal(keys(in), want[:2]) {
		t.Errorf("bob's inbox limit 2 = %v", keys(in))
	}

	// The inbox shrinks as received watermarks arrive.
	d.Received("bob", 2)
	env.WaitCaughtUp()
	in, _ = q.Inbox(ctx, "bob", 0)
	if got := keys(in); !slices.Equal(got, []key{{g.ID, 1}, {g.ID, 3}, {d.ID, 4}}) {
		t.Errorf("after receiving d to 2: %v", got)
	}
	g.Received("bob", 3)
	d.Read("bob", 4)
	env.WaitCaughtUp()
	if in, _ := q.Inbox(ctx, "bob", 0); len(in) != 0 {
		t.Errorf("after receiving everything: %v", keys(in))
	}
	if in, err := q.Inbox(ctx, "bob", 0); err != nil || in == nil {
		t.Errorf("empty inbox = %#v, %v; want empty, not nil", in, err)
	}
}

func TestInboxKeepsSeqOrderWhenServerClocksDisagree(t *testing.T) {
	t.Parallel()
	env, q := newEnv(t)
	g := env.CreateGroup("team", "alice", "bob")
	// seq 2 was stamped by a node whose clock is behind.
	m1 := g.Send("alice", "1")
	m2 := events.MessageSent{SessionID: g.ID, MessageID: "7b0a6e49-8a43-4a44-9a57-0d2b3d0c2b01", Seq: 2,
		SenderID: "alice", MessageType: 1, Content: "2", ClientMessageID: "c2",
		ServerTimestamp: m1.ServerTimestamp - 60_000}
	env.Append(g.ID, m2)
	g.Seq = 2
	env.WaitCaughtUp()
	in, err := q.Inbox(ctx, "bob", 0)
	if err != nil {
		t.Fatal(err)
	}
	wantSeqs(t, "inbox", in, []int64{1, 2})
}

func TestInboxLimits(t *testing.T) {
	t.Parallel()
	env, q := newEnv(t)
	g := env.CreateGroup("big", "alice", "bob")
	payloads := make([]events.Payload, 0, 600)
	for range 600 {
		g.Seq++
		now := env.Now()
		payloads = append(payloads, events.MessageSent{SessionID: g.ID, MessageID: newUUID(), Seq: g.Seq,
			SenderID: "alice", MessageType: 1, Content: "m", ClientMessageID: newUUID(), ServerTimestamp: now})
	}
	env.Append(g.ID, payloads...)
	env.WaitCaughtUp()
	for _, tc := range []struct{ limit, want int }{{0, 100}, {-3, 100}, {7, 7}, {500, 500}, {10000, 500}} {
		in, err := q.Inbox(ctx, "bob", tc.limit)
		if err != nil || len(in) != tc.want || in[0].Seq != 1 {
			t.Errorf("Inbox(limit %d): %d messages, %v; want %d from seq 1", tc.limit, len(in), err, tc.want)
		}
	}
	if u, _ := q.Unread(ctx, "bob"); u.Total != 600 {
		t.Errorf("unread = %d, want 600", u.Total)
	}
}

func mapsEqual(a, b map[string]int64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func newUUID() string { return uuid.NewString() }
