package readmodels_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"

	"github.com/tellyou/tellyou/events"
	"github.com/tellyou/tellyou/readmodels"
)

func TestMessagesPagesForwardAndBack(t *testing.T) {
	t.Parallel()
	env, q := newEnv(t)
	g := env.CreateGroup("team", "alice", "bob")
	sent := map[int64]events.MessageSent{}
	for i := range 25 {
		m := g.Send([]string{"alice", "bob"}[i%2], "hello")
		sent[m.Seq] = m
	}
	empty := env.CreateGroup("quiet", "alice")
	env.WaitCaughtUp()

	for _, tc := range []struct {
		name        string
		q           readmodels.PageQuery
		want        []int64
		wantHasMore bool
	}{
		{"first page", readmodels.PageQuery{Limit: 10}, seqRange(1, 10), true},
		{"middle page", readmodels.PageQuery{AfterSeq: 10, Limit: 10}, seqRange(11, 20), true},
		{"last page", readmodels.PageQuery{AfterSeq: 20, Limit: 10}, seqRange(21, 25), false},
		{"exactly the rest", readmodels.PageQuery{AfterSeq: 15, Limit: 10}, seqRange(16, 25), false},
		{"past the end", readmodels.PageQuery{AfterSeq: 25}, nil, false},
		{"default limit 20", readmodels.PageQuery{}, seqRange(1, 20), true},
		{"limit clamped to 200", readmodels.PageQuery{Limit: 100000}, seqRange(1, 25), false},
		{"negative after and limit", readmodels.PageQuery{AfterSeq: -5, Limit: -1}, seqRange(1, 20), true},
		{"older history", readmodels.PageQuery{BeforeSeq: 11, Limit: 5}, seqRange(6, 10), true},
		{"oldest history", readmodels.PageQuery{BeforeSeq: 4, Limit: 5}, seqRange(1, 3), false},
		{"older history just fits", readmodels.PageQuery{BeforeSeq: 6, Limit: 5}, seqRange(1, 5), false},
		{"latest history", readmodels.PageQuery{BeforeSeq: 26, Limit: 3}, seqRange(23, 25), true},
		{"before within after", readmodels.PageQuery{AfterSeq: 10, BeforeSeq: 15, Limit: 3}, seqRange(12, 14), true},
		{"before within after, all", readmodels.PageQuery{AfterSeq: 10, BeforeSeq: 15, Limit: 4}, seqRange(11, 14), false},
	} {
		page, err := q.Messages(ctx, g.ID, tc.q)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		wantSeqs(t, tc.name, page.Messages, tc.want)
		if page.HasMore != tc.wantHasMore || page.LastSeq != 25 {
			t.Errorf("%s: hasMore %v lastSeq %d, want %v 25", tc.name, page.HasMore, page.LastSeq, tc.wantHasMore)
		}
	}

	page, err := q.Messages(ctx, g.ID, readmodels.PageQuery{AfterSeq: 6, Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	m, want := page.Messages[0], sent[7]
	if m.MessageID != want.MessageID || m.SessionID != g.ID || m.SenderID != want.SenderID ||
		m.MessageType != 1 || m.Content != "hello" || m.ClientMessageID != want.ClientMessageID ||
		m.ClientTimestamp != want.ClientTimestamp || m.ServerTimestamp != want.ServerTimestamp ||
		m.AdjustedTimestamp != want.AdjustedTimestamp || m.Recalled || m.Ext != nil {
		t.Errorf("message 7 = %+v, want it as sent: %+v", m, want)
	}

	page, err = q.Messages(ctx, empty.ID, readmodels.PageQuery{})
	if err != nil || len(page.Messages) != 0 || page.LastSeq != 0 || page.HasMore {
		t.Errorf("empty group: %+v, %v; want no messages, lastSeq 0", page, err)
	}
	if js, _ := json.Marshal(page); string(js) != `{"messages":[],"lastSeq":0,"hasMore":false}` {
		t.Errorf("empty page JSON %s", js)
	}
	if _, err := q.Messages(ctx, "g:nope", readmodels.PageQuery{}); !errors.Is(err, readmodels.ErrNotFound) {
		t.Errorf("unknown session: %v, want ErrNotFound", err)
	}
	if last, err := q.LastSeq(ctx, g.ID); err != nil || last != 25 {
		t.Errorf("LastSeq = %d, %v; want 25", last, err)
	}
	if last, err := q.LastSeq(ctx, empty.ID); err != nil || last != 0 {
		t.Errorf("LastSeq of empty group = %d, %v; want 0", last, err)
	}
	if _, err := q.LastSeq(ctx, "g:nope"); !errors.Is(err, readmodels.ErrNotFound) {
		t.Errorf("LastSeq of unknown session: %v, want ErrNotFound", err)
	}
}

func TestRecallClearsContentAndKeepsSeq(t *testing.T) {
	t.Parallel()
	env, q := newEnv(t)
	d, first := env.CreateDirect("alice", "bob", "hi bob")
	secret := d.SendExt("alice", "secret", `{"mention": ["bob"], "n": 12345678901234567890}`)
	d.Send("alice", "after")
	d.Recall(secret)
	env.WaitCaughtUp()

	page, err := q.Messages(ctx, d.ID, readmodels.PageQuery{})
	if err != nil {
		t.Fatal(err)
	}
	wantSeqs(t, "history", page.Messages, []int64{1, 2, 3})
	r := page.Messages[1]
	if !r.Recalled || r.Content != "" || r.Ext != nil || r.MessageID != secret.MessageID || r.SenderID != "alice" {
		t.Errorf("recalled message = %+v, want recalled with empty content and no ext", r)
	}
	js, _ := json.Marshal(r)
	var fields map[string]any
	if err := json.Unmarshal(js, &fields); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"messageId", "sessionId", "seq", "senderId", "messageType", "content", "ext",
		"clientMessageId", "clientTimestamp", "serverTimestamp", "adjustedTimestamp", "recalled"} {
		if _, ok := fields[k]; !ok {
			t.Errorf("message JSON %s lacks %q", js, k)
		}
	}
	if fields["ext"] != nil || fields["recalled"] != true || fields["content"] != "" {
		t.Errorf("recalled message JSON %s", js)
	}

	byID, err := q.MessageByID(ctx, d.ID, secret.MessageID)
	if err != nil || !byID.Recalled || byID.Seq != 2 {
		t.Errorf("MessageByID(recalled) = %+v, %v", byID, err)
	}
	byID, err = q.MessageByID(ctx, d.ID, first.MessageID)
	if err != nil || byID.Content != "hi bob" || byID.Seq != 1 {
		t.Errorf("MessageByID(first) = %+v, %v", byID, err)
	}
	for _, id := range []string{"not-a-uuid", "00000000-0000-0000-0000-000000000001"} {
		if _, err := q.MessageByID(ctx, d.ID, id); !errors.Is(err, readmodels.ErrNotFound) {
			t.Errorf("MessageByID(%s): %v, want ErrNotFound", id, err)
		}
	}
	if _, err := q.MessageByID(ctx, "d:x:y", first.MessageID); !errors.Is(err, readmodels.ErrNotFound) {
		t.Errorf("MessageByID in another session: %v, want ErrNotFound", err)
	}

	u, err := q.Unread(ctx, "bob")
	if err != nil || u.Total != 2 || u.Sessions[d.ID] != 2 {
		t.Errorf("bob's unread = %+v, %v; want 2 (the recalled one does not count)", u, err)
	}
}

func TestExtAndUnstorableText(t *testing.T) {
	t.Parallel()
	env, q := newEnv(t)
	g := env.CreateGroup("t\x00itle", "alice")
	withExt := g.SendExt("alice", "look", `{"b": [1, 2.50, "x"], "a": {"deep": true}}`)
	nul := g.SendExt("alice", "a\x00b", `{"k\u0000": "v\ud800", "n": 1e999999}`)
	null := g.SendExt("alice", "null ext", `null`)
	env.WaitCaughtUp()

	page, err := q.Messages(ctx, g.ID, readmodels.PageQuery{})
	if err != nil {
		t.Fatal(err)
	}
	wantSeqs(t, "history", page.Messages, []int64{withExt.Seq, nul.Seq, null.Seq})
	// The event holds ext as encoding/json compacts it, and so does the read
	// model.
	if got := string(page.Messages[0].Ext); got != compact(withExt.Ext) {
		t.Errorf("ext = %s, want %s byte for byte", got, withExt.Ext)
	}
	if m := page.Messages[1]; m.Content != "a\uFFFDb" || string(m.Ext) != compact(nul.Ext) {
		t.Errorf("message with U+0000: content %q ext %s", m.Content, m.Ext)
	}
	if page.Messages[2].Ext != nil {
		t.Errorf("null ext came back as %s", page.Messages[2].Ext)
	}
	s, err := q.Session(ctx, g.ID, "alice")
	if err != nil || s.Title != "t\uFFFDitle" {
		t.Errorf("title = %q, %v", s.Title, err)
	}
}

func compact(js []byte) string {
	var b bytes.Buffer
	if err := json.Compact(&b, js); err != nil {
		panic(err)
	}
	return b.String()
}
