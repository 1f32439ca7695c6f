package readmodels_test

import (
	"encoding/json"
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/tellyou/tellyou/events"
	"github.com/tellyou/tellyou/projections/projectiontest"
	"github.com/tellyou/tellyou/readmodels"
)

// longText is content the history projection stores compressed.
var longText = strings.Repeat("an edit long enough to be stored compressed; ", 60)

// everyRead returns message m of session s as each query that returns
// messages gives it, by the query's name: the history page, the thread of
// its replyTo (when it has one), MessageByID, bob's inbox and, when m is the
// session's latest, the sessions list's lastMessage.
func everyRead(t *testing.T, q *readmodels.Queries, s *projectiontest.SessionLog, m events.MessageSent) map[string]readmodels.Message {
	t.Helper()
	out := map[string]readmodels.Message{}
	page, err := q.Messages(ctx, s.ID, readmodels.PageQuery{AfterSeq: m.Seq - 1, Limit: 1})
	if err != nil || len(page.Messages) != 1 {
		t.Fatalf("page at %d: %+v, %v", m.Seq, page, err)
	}
	out["page"] = page.Messages[0]
	if m.ReplyTo != "" {
		thread, err := q.Messages(ctx, s.ID, readmodels.PageQuery{ReplyTo: m.ReplyTo, AfterSeq: m.Seq - 1, Limit: 1})
		if err != nil || len(thread.Messages) != 1 {
			t.Fatalf("thread page at %d: %+v, %v", m.Seq, thread, err)
		}
		out["thread"] = thread.Messages[0]
	}
	if out["by id"], err = q.MessageByID(ctx, s.ID, m.MessageID); err != nil {
		t.Fatal(err)
	}
	inbox, err := q.Inbox(ctx, "bob", readmodels.MaxInboxLimit)
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range inbox {
		if i.MessageID == m.MessageID {
			out["inbox"] = i
		}
	}
	if m.Seq == s.Seq {
		sess, err := q.Session(ctx, s.ID, "bob")
		if err != nil || sess.LastMessage == nil {
			t.Fatalf("session: %+v, %v", sess, err)
		}
		out["last message"] = *sess.LastMessage
	}
	return out
}

func TestEditsServeTheLatestContent(t *testing.T) {
	t.Parallel()
	env, q := newEnv(t)
	g := env.CreateGroup("edits", "alice", "bob", "carol")
	short := g.Send("alice", "frist")
	long := g.Send("alice", "short, then long")
	shrunk := g.Send("alice", longText+"then short")
	recalledFirst := g.Send("alice", "recalled, then edited")
	editedFirst := g.Send("alice", "edited, then recalled")
	never := g.Send("alice", "never edited")

	g.Edit(short, "first")
	second := g.Edit(short, "first!")
	toLong := g.Edit(long, longText)
	toShort := g.Edit(shrunk, "short now")
	g.Recall(recalledFirst)
	g.Edit(recalledFirst, "too late")
	g.Edit(editedFirst, "edited")
	g.Recall(editedFirst)
	// An edit naming a message of another session changes nothing.
	other := env.CreateGroup("other", "alice", "bob")
	env.Append(other.ID, events.MessageEdited{SessionID: other.ID, MessageID: never.MessageID, Seq: never.Seq,
		By: "alice", Content: "not here", EditedAt: env.Now()})
	env.WaitCaughtUp()

	for _, tc := range []struct {
		m        events.MessageSent
		content  string
		editedAt int64
		recalled bool
	}{
		{short, "first!", second.EditedAt, false},
		{long, longText, toLong.EditedAt, false},
		{shrunk, "short now", toShort.EditedAt, false},
		{recalledFirst, "", 0, true},
		{editedFirst, "", 0, true},
		{never, "never edited", 0, false},
	} {
		for read, m := range everyRead(t, q, g, tc.m) {
			if m.Content != tc.content || m.EditedAt != tc.editedAt || m.Recalled != tc.recalled || m.Seq != tc.m.Seq {
				t.Errorf("%s of message %d: content %.40q editedAt %d recalled %v; want %.40q %d %v",
					read, tc.m.Seq, m.Content, m.EditedAt, m.Recalled, tc.content, tc.editedAt, tc.recalled)
			}
		}
	}
	// Edited content is stored as sent content is: compressed when long.
	for _, tc := range []struct {
		m        events.MessageSent
		encoding string
	}{{long, readmodels.ContentDeflate}, {shrunk, readmodels.ContentPlain}} {
		var encoding, content string
		if err := env.Pool.QueryRow(ctx, `SELECT content_encoding, content FROM rm_messages WHERE message_id = $1`,
			tc.m.MessageID).Scan(&encoding, &content); err != nil {
			t.Fatal(err)
		}
		if encoding != tc.encoding || (encoding == readmodels.ContentDeflate && content != "") {
			t.Errorf("message %d stored as %s with %d bytes of text, want %s", tc.m.Seq, encoding, len(content), tc.encoding)
		}
	}
	// editedAt is in the JSON only once a message was edited.
	page, err := q.Messages(ctx, g.ID, readmodels.PageQuery{})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range page.Messages {
		js, _ := json.Marshal(m)
		if has := strings.Contains(string(js), `"editedAt":`); has != (m.EditedAt != 0) {
			t.Errorf("message %d JSON %.200s: editedAt present %v", m.Seq, js, has)
		}
	}
}

func TestReactionsInTheOrderAdded(t *testing.T) {
	t.Parallel()
	env, q := newEnv(t)
	g := env.CreateGroup("reactions", "alice", "bob", "carol", "dave")
	m := g.Send("alice", "react to me")
	plain := g.Send("alice", "nobody reacts")
	gone := g.Send("alice", "reacted to, then recalled")
	late := g.Send("alice", "recalled, then reacted to")

	g.React("carol", m, "👍")
	g.React("bob", m, "👍")
	g.React("alice", m, "👍")
	g.React("dave", m, "❤️")
	g.React("bob", m, "👍")      // again: keeps its place
	g.Unreact("carol", m, "❤️") // never added: nothing to remove
	g.Unreact("carol", m, "👍")
	g.React("carol", m, "👍") // added again: last now
	g.React("bob", m, "🎉")
	g.Unreact("bob", m, "🎉") // the emoji's last user: the emoji goes
	g.React("bob", gone, "👍")
	g.Recall(gone)
	g.Recall(late)
	g.React("bob", late, "👍")
	other := env.CreateGroup("other", "alice", "bob")
	env.Append(other.ID, events.ReactionAdded{SessionID: other.ID, MessageID: plain.MessageID, Seq: plain.Seq,
		UserID: "bob", Emoji: "👀", At: env.Now()})
	env.Append(other.ID, events.ReactionRemoved{SessionID: other.ID, MessageID: m.MessageID, Seq: m.Seq,
		UserID: "dave", Emoji: "❤️", At: env.Now()})
	env.WaitCaughtUp()

	want := map[string][]string{"👍": {"bob", "alice", "carol"}, "❤️": {"dave"}}
	for read, got := range everyRead(t, q, g, m) {
		if !maps.EqualFunc(got.Reactions, want, slices.Equal) {
			t.Errorf("%s: reactions %v, want %v", read, got.Reactions, want)
		}
	}
	for _, none := range []events.MessageSent{plain, gone, late} {
		for read, got := range everyRead(t, q, g, none) {
			if got.Reactions != nil {
				t.Errorf("%s of message %d: reactions %v, want none", read, none.Seq, got.Reactions)
			}
			if js, _ := json.Marshal(got); strings.Contains(string(js), `"reactions"`) {
				t.Errorf("%s of message %d: JSON %s carries reactions", read, none.Seq, js)
			}
		}
	}
	var rows int
	if err := env.Pool.QueryRow(ctx, `SELECT count(*) FROM rm_reactions WHERE message_id = ANY($1::uuid[])`,
		[]string{gone.MessageID, late.MessageID, plain.MessageID}).Scan(&rows); err != nil || rows != 0 {
		t.Errorf("%d reaction rows of recalled or untouched messages, %v", rows, err)
	}
	js, _ := json.Marshal(everyRead(t, q, g, m)["page"])
	if !strings.Contains(string(js), `"reactions":{"❤️":["dave"],"👍":["bob","alice","carol"]}`) {
		t.Errorf("message JSON %s", js)
	}
}

func TestRepliesAndThreadPages(t *testing.T) {
	t.Parallel()
	env, q := newEnv(t)
	g := env.CreateGroup("threads", "alice", "bob")
	root := g.Send("alice", "root")
	other := g.Send("bob", "another root")
	var replies, otherReplies []int64
	for i := range 12 {
		g.Send("alice", "not a reply")
		replies = append(replies, g.Reply("bob", "reply", root).Seq)
		if i%3 == 0 {
			otherReplies = append(otherReplies, g.Reply("alice", "reply to the other", other).Seq)
		}
	}
	recalled := g.Reply("alice", "recalled reply", root)
	g.Recall(recalled)
	replies = append(replies, recalled.Seq)
	// A replyTo that is no message id answers no message.
	nowhere := g.Reply("alice", "replies to nothing", events.MessageSent{MessageID: "not-a-uuid"})
	// A reply in another session to this session's root is not in its thread.
	elsewhere := env.CreateGroup("elsewhere", "alice", "bob")
	elsewhere.Reply("alice", "across sessions", root)
	last := g.Seq
	env.WaitCaughtUp()

	n := len(replies)
	for _, tc := range []struct {
		name    string
		pq      readmodels.PageQuery
		want    []int64
		hasMore bool
	}{
		{"whole thread", readmodels.PageQuery{ReplyTo: root.MessageID}, replies, false},
		{"first page", readmodels.PageQuery{ReplyTo: root.MessageID, Limit: 5}, replies[:5], true},
		{"next page", readmodels.PageQuery{ReplyTo: root.MessageID, AfterSeq: replies[4], Limit: 5}, replies[5:10], true},
		{"last page", readmodels.PageQuery{ReplyTo: root.MessageID, AfterSeq: replies[9], Limit: 5}, replies[10:], false},
		{"past the end", readmodels.PageQuery{ReplyTo: root.MessageID, AfterSeq: replies[n-1]}, nil, false},
		{"latest replies", readmodels.PageQuery{ReplyTo: root.MessageID, BeforeSeq: last + 1, Limit: 4}, replies[n-4:], true},
		{"older replies", readmodels.PageQuery{ReplyTo: root.MessageID, BeforeSeq: replies[2], Limit: 4}, replies[:2], false},
		{"between", readmodels.PageQuery{ReplyTo: root.MessageID, AfterSeq: replies[1], BeforeSeq: replies[5]}, replies[2:5], false},
		{"id in upper case", readmodels.PageQuery{ReplyTo: strings.ToUpper(root.MessageID), Limit: 2}, replies[:2], true},
		{"the other thread", readmodels.PageQuery{ReplyTo: other.MessageID, Limit: 200}, otherReplies, false},
		{"a message with no replies", readmodels.PageQuery{ReplyTo: nowhere.MessageID}, nil, false},
		{"an unknown message", readmodels.PageQuery{ReplyTo: uuid.NewString()}, nil, false},
		{"not a message id", readmodels.PageQuery{ReplyTo: "not-a-uuid"}, nil, false},
	} {
		page, err := q.Messages(ctx, g.ID, tc.pq)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		wantSeqs(t, tc.name, page.Messages, tc.want)
		if page.HasMore != tc.hasMore || page.LastSeq != last {
			t.Errorf("%s: hasMore %v lastSeq %d, want %v and the session's %d", tc.name, page.HasMore, page.LastSeq, tc.hasMore, last)
		}
		if page.Messages == nil {
			t.Errorf("%s: nil messages, want an empty list", tc.name)
		}
		for _, m := range page.Messages {
			if m.ReplyTo != strings.ToLower(tc.pq.ReplyTo) {
				t.Errorf("%s: message %d replies to %q", tc.name, m.Seq, m.ReplyTo)
			}
		}
	}
	if _, err := q.Messages(ctx, "g:nope", readmodels.PageQuery{ReplyTo: root.MessageID}); !errors.Is(err, readmodels.ErrNotFound) {
		t.Errorf("thread of an unknown session: %v, want ErrNotFound", err)
	}

	for read, m := range everyRead(t, q, g, recalled) {
		if !m.Recalled || m.Content != "" || m.ReplyTo != root.MessageID {
			t.Errorf("%s of the recalled reply: %+v; want recalled, still in the thread", read, m)
		}
	}
	byID, err := q.MessageByID(ctx, g.ID, nowhere.MessageID)
	if err != nil || byID.ReplyTo != "" {
		t.Errorf("reply to a replyTo that is no message id: %+v, %v; want no replyTo", byID, err)
	}
	page, err := q.Messages(ctx, g.ID, readmodels.PageQuery{Limit: 1})
	if err != nil || len(page.Messages) != 1 {
		t.Fatal(page, err)
	}
	if js, _ := json.Marshal(page.Messages[0]); strings.Contains(string(js), `"replyTo"`) {
		t.Errorf("a message that replies to none: JSON %s carries replyTo", js)
	}
}
