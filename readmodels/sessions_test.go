package readmodels_test

import (
	"encoding/json"
	"errors"
	"slices"
	"testing"

	"github.com/google/uuid"
	"github.com/tellyou/tellyou/events"
	"github.com/tellyou/tellyou/readmodels"
)

func sessionIDs(list []readmodels.Session) []string {
	out := make([]string, len(list))
	for i, s := range list {
		out[i] = s.SessionID
	}
	return out
}

func TestSessionsLatestActivityFirst(t *testing.T) {
	t.Parallel()
	env, q := newEnv(t)
	ab, _ := env.CreateDirect("bob", "alice", "hi")
	g := env.CreateGroup("team", "alice", "bob", "carol")
	ac, _ := env.CreateDirect("alice", "carol", "hey carol")
	quiet := env.CreateGroup("quiet", "carol", "alice")
	// Two sessions created at the same instant with no messages tie on
	// activity: they come in session id order.
	at := env.Now()
	tieB, tieA := "g:"+uuid.NewString(), "g:"+uuid.NewString()
	if tieB < tieA {
		tieA, tieB = tieB, tieA
	}
	for _, id := range []string{tieB, tieA} {
		env.Append(id, events.SessionCreated{SessionID: id, Kind: events.KindGroup, Title: "tie",
			Owner: "dave", Members: []string{"dave", "alice"}, CreatedAt: at})
	}
	last := ab.Send("bob", "latest")
	g.Send("carol", "x")
	env.WaitCaughtUp()

	list, err := q.Sessions(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	// g has the latest message, then ab; the ties come before the older
	// quiet group and the direct session whose only message came first.
	want := []string{g.ID, ab.ID, tieA, tieB, quiet.ID, ac.ID}
	if got := sessionIDs(list); !slices.Equal(got, want) {
		t.Fatalf("alice's sessions %v, want %v", got, want)
	}
	var d readmodels.Session
	for _, s := range list {
		if s.SessionID == ab.ID {
			d = s
		}
	}
	if d.Kind != "direct" || d.Title != "" || d.Owner != "" || !slices.Equal(d.Members, []string{"alice", "bob"}) ||
		d.LastSeq != 2 || d.LastMessage == nil || d.LastMessage.MessageID != last.MessageID ||
		d.LastMessage.Content != "latest" || d.UnreadCount != 2 || d.ReceivedSeq != 0 || d.ReadSeq != 0 {
		t.Errorf("direct session = %+v", d)
	}
	gs := list[0]
	if gs.Kind != "group" || gs.Title != "team" || gs.Owner != "alice" ||
		!slices.Equal(gs.Members, []string{"alice", "bob", "carol"}) || gs.UnreadCount != 1 {
		t.Errorf("group = %+v", gs)
	}
	if list[4].LastMessage != nil || list[4].LastSeq != 0 {
		t.Errorf("session without messages = %+v, want no last message", list[4])
	}

	js, _ := json.Marshal(list[4])
	var fields map[string]any
	if err := json.Unmarshal(js, &fields); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"sessionId", "kind", "title", "owner", "members", "lastSeq", "lastMessage",
		"receivedSeq", "readSeq", "unreadCount"} {
		if _, ok := fields[k]; !ok {
			t.Errorf("session JSON %s lacks %q", js, k)
		}
	}

	// A recall shows in the list's last message.
	ab.Recall(last)
	env.WaitCaughtUp()
	s, err := q.Session(ctx, ab.ID, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if s.LastMessage == nil || !s.LastMessage.Recalled || s.LastMessage.Content != "" || s.LastMessage.Seq != 2 || s.UnreadCount != 1 {
		t.Errorf("after recall: %+v, last %+v", s, s.LastMessage)
	}

	if list, err := q.Sessions(ctx, "nobody"); err != nil || list == nil || len(list) != 0 {
		t.Errorf("Sessions(nobody) = %#v, %v; want empty, not nil", list, err)
	}
	if _, err := q.Session(ctx, "g:nope", "alice"); !errors.Is(err, readmodels.ErrNotFound) {
		t.Errorf("Session(unknown): %v, want ErrNotFound", err)
	}
	if _, err := q.Session(ctx, ab.ID, "carol"); !errors.Is(err, readmodels.ErrNotMember) {
		t.Errorf("Session(non-member): %v, want ErrNotMember", err)
	}
}

func TestMembershipChanges(t *testing.T) {
	t.Parallel()
	env, q := newEnv(t)
	g := env.CreateGroup("team", "alice", "bob", "carol")
	for range 5 {
		g.Send("alice", "before dave")
	}
	g.Add("alice", "dave", "erin", "dave")
	g.Remove("alice", "carol")
	env.WaitCaughtUp()

	// dave joined at seq 5: earlier history is readable but neither unread
	// nor in his inbox.
	s, err := q.Session(ctx, g.ID, "dave")
	if err != nil {
		t.Fatal(err)
	}
	if s.ReceivedSeq != 5 || s.ReadSeq != 5 || s.UnreadCount != 0 ||
		!slices.Equal(s.Members, []string{"alice", "bob", "dave", "erin"}) {
		t.Errorf("dave's view = %+v", s)
	}
	if u, _ := q.Unread(ctx, "dave"); u.Total != 0 {
		t.Errorf("dave's unread = %+v, want 0", u)
	}
	if in, _ := q.Inbox(ctx, "dave", 0); len(in) != 0 {
		t.Errorf("dave's inbox = %v, want empty", seqs(in))
	}
	if page, _ := q.Messages(ctx, g.ID, readmodels.PageQuery{}); len(page.Messages) != 5 {
		t.Errorf("history has %d messages, want 5", len(page.Messages))
	}
	g.Send("bob", "welcome")
	env.WaitCaughtUp()
	if u, _ := q.Unread(ctx, "dave"); u.Total != 1 || u.Sessions[g.ID] != 1 {
		t.Errorf("dave's unread after a new message = %+v, want 1", u)
	}
	if in, _ := q.Inbox(ctx, "dave", 0); !slices.Equal(seqs(in), []int64{6}) {
		t.Errorf("dave's inbox = %v, want [6]", seqs(in))
	}

	// carol was removed: the session leaves her list, her counts and inbox.
	if list, _ := q.Sessions(ctx, "carol"); len(list) != 0 {
		t.Errorf("carol still sees %v", sessionIDs(list))
	}
	if _, err := q.Session(ctx, g.ID, "carol"); !errors.Is(err, readmodels.ErrNotMember) {
		t.Errorf("Session(carol): %v, want ErrNotMember", err)
	}
	if u, _ := q.Unread(ctx, "carol"); u.Total != 0 || len(u.Sessions) != 0 {
		t.Errorf("carol's unread = %+v", u)
	}
	if in, _ := q.Inbox(ctx, "carol", 0); len(in) != 0 {
		t.Errorf("carol's inbox = %v", seqs(in))
	}

	// Re-added members start at the new AtSeq; an existing member re-added
	// keeps watermarks that are ahead.
	g.Read("bob", 6)
	g.Add("alice", "carol", "bob")
	env.WaitCaughtUp()
	if s, _ := q.Session(ctx, g.ID, "carol"); s.ReadSeq != 6 || s.UnreadCount != 0 {
		t.Errorf("carol re-added: %+v", s)
	}
	g.Remove("alice", "erin")
	g.Add("alice", "erin")
	env.WaitCaughtUp()
	if s, _ := q.Session(ctx, g.ID, "erin"); s.ReadSeq != 6 || s.ReceivedSeq != 6 {
		t.Errorf("erin re-added: %+v", s)
	}
}
