package command_test

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/tellyou/tellyou/domain"
	"github.com/tellyou/tellyou/handlers/command"
	"github.com/tellyou/tellyou/readmodels"
)

func TestConcurrentSendersToOneGroupGetSeqOneToAThousand(t *testing.T) {
	t.Parallel()
	e := newEngine(t)
	const senders, each = 20, 50
	members := make([]string, senders)
	for i := range members {
		members[i] = fmt.Sprintf("user%02d", i)
	}
	gid := e.group(t, members[0], members...)
	// Two nodes with their own caches share the senders, so appends really
	// conflict across processes as well as queueing inside one.
	nodes := []*command.Commands{e.cmds, e.newNode(t)}

	type sent struct {
		seq       int64
		messageID string
		sender    string
		content   string
	}
	var mu sync.Mutex
	var all []sent
	var wg sync.WaitGroup
	for i, user := range members {
		wg.Add(1)
		go func() {
			defer wg.Done()
			node := nodes[i%len(nodes)]
			for n := range each {
				content := fmt.Sprintf("%s #%d", user, n)
				ack, err := sendHonouringOverload(node, command.Send{
					Meta: as(user), SessionID: gid, MessageType: 1, Content: content, ClientMessageID: fmt.Sprintf("c%d", n),
				})
				if err != nil {
					t.Errorf("%s send %d: %v", user, n, err)
					return
				}
				mu.Lock()
				all = append(all, sent{ack.Seq, ack.MessageID, user, content})
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	sort.Slice(all, func(i, j int) bool { return all[i].seq < all[j].seq })
	if len(all) != senders*each {
		t.Fatalf("%d acks, want %d", len(all), senders*each)
	}
	for i, s := range all {
		if s.seq != int64(i+1) {
			t.Fatalf("sorted seqs break at index %d: seq %d (want exactly 1..%d)", i, s.seq, senders*each)
		}
	}

	e.caughtUp(t)
	var history []readmodels.Message
	for after := int64(0); ; {
		page, err := e.rm.Messages(context.Background(), gid, readmodels.PageQuery{AfterSeq: after, Limit: readmodels.MaxPageLimit})
		if err != nil {
			t.Fatal(err)
		}
		history = append(history, page.Messages...)
		if !page.HasMore {
			if page.LastSeq != senders*each {
				t.Fatalf("history lastSeq = %d, want %d", page.LastSeq, senders*each)
			}
			break
		}
		after = page.Messages[len(page.Messages)-1].Seq
	}
	if len(history) != len(all) {
		t.Fatalf("history holds %d messages, want %d", len(history), len(all))
	}
	for i, m := range history {
		s := all[i]
		if m.Seq != s.seq || m.MessageID != s.messageID || m.SenderID != s.sender || m.Content != s.content {
			t.Fatalf("history[%d] = seq %d %s %s %q, acked seq %d %s %s %q", i, m.Seq, m.MessageID, m.SenderID, m.Content, s.seq, s.messageID, s.sender, s.content)
		}
	}
}

func TestDuplicateSendAnswersTheOriginalAndAppendsNothing(t *testing.T) {
	t.Parallel()
	e := newEngine(t)
	first := e.sendTo(t, "ann", "bob", "hello", "c-1")
	e.sendTo(t, "bob", "ann", "hi back", "c-1") // same client id, other sender: not a duplicate
	again := e.sendTo(t, "ann", "bob", "hello (resent)", "c-1")
	if !again.Duplicate || again.MessageID != first.MessageID || again.Seq != first.Seq || again.ServerTimestamp != first.ServerTimestamp {
		t.Fatalf("resend = %+v, want the original %+v marked duplicate", again, first)
	}
	// A second node with a cold cache recognises it too.
	other := e.newNode(t)
	third, err := other.Send.Handle(context.Background(), command.Send{Meta: as("ann"), ToUserID: "bob", MessageType: 1, Content: "x", ClientMessageID: "c-1"})
	if err != nil || !third.Duplicate || third.Seq != first.Seq {
		t.Fatalf("resend through another node = %+v, %v", third, err)
	}
	recs, err := e.store.ReadStream(context.Background(), first.SessionID, 1, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 3 { // SessionCreated, two MessageSent
		t.Fatalf("stream holds %d events, want 3", len(recs))
	}
}

func TestSendAddressingRules(t *testing.T) {
	t.Parallel()
	e := newEngine(t)
	ctx := context.Background()
	ack := e.sendTo(t, "zed", "amy", "first", "c1")
	if ack.SessionID != "d:amy:zed" || ack.Seq != 1 {
		t.Fatalf("first direct message = %+v, want d:amy:zed seq 1", ack)
	}
	if ack.AdjustedTimestamp != e.clock.Now().UnixMilli() {
		t.Fatalf("adjusted timestamp %d, want the client's %d", ack.AdjustedTimestamp, e.clock.Now().UnixMilli())
	}
	gid := e.group(t, "amy", "bob")
	cases := []struct {
		name string
		cmd  command.Send
		want error
	}{
		{"both targets", command.Send{Meta: as("amy"), SessionID: gid, ToUserID: "bob"}, domain.ErrInvalid},
		{"no target", command.Send{Meta: as("amy")}, domain.ErrInvalid},
		{"to self", command.Send{Meta: as("amy"), ToUserID: "amy"}, domain.ErrInvalid},
		{"malformed session id", command.Send{Meta: as("amy"), SessionID: "chat-42"}, domain.ErrInvalid},
		{"direct session not started", command.Send{Meta: as("amy"), SessionID: "d:amy:bob"}, domain.ErrNotFound},
		{"unknown group", command.Send{Meta: as("amy"), SessionID: "g:7d444840-9dc0-11d1-b245-5ffdce74fad2"}, domain.ErrNotFound},
		{"non-member", command.Send{Meta: as("eve"), SessionID: gid}, domain.ErrForbidden},
		{"other people's direct session", command.Send{Meta: as("eve"), SessionID: "d:amy:zed"}, domain.ErrForbidden},
		{"empty content", command.Send{Meta: as("amy"), SessionID: gid, MessageType: 1, ClientMessageID: "x"}, domain.ErrInvalid},
	}
	for _, c := range cases {
		if c.cmd.MessageType == 0 && c.name != "empty content" {
			c.cmd.MessageType, c.cmd.Content, c.cmd.ClientMessageID = 1, "hi", "c-"+c.name
		}
		_, err := e.cmds.Send.Handle(ctx, c.cmd)
		if !errors.Is(err, c.want) {
			t.Errorf("%s: err = %v, want %v", c.name, err, c.want)
		}
	}
	// Nothing refused was stored.
	for stream, want := range map[string]int{"d:amy:zed": 2, gid: 1, "d:amy:bob": 0, "d:amy:eve": 0} {
		recs, err := e.store.ReadStream(ctx, stream, 1, 100)
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) != want {
			t.Errorf("stream %s holds %d events, want %d", stream, len(recs), want)
		}
	}
}

func TestClockSkewAdjustsTimestamps(t *testing.T) {
	t.Parallel()
	e := newEngine(t)
	now := e.clock.Now().UnixMilli()
	for _, c := range []struct {
		client, want int64
	}{
		{now - 30_000, now - 30_000},
		{now + 60_000, now + 60_000},
		{now - 61_000, now},
		{now + 3_600_000, now},
		{0, now},
	} {
		ack, err := e.cmds.Send.Handle(context.Background(), command.Send{
			Meta: as("ann"), ToUserID: "bob", MessageType: 1, Content: "t", ClientMessageID: fmt.Sprint(c.client), ClientTimestamp: c.client,
		})
		if err != nil {
			t.Fatal(err)
		}
		if ack.AdjustedTimestamp != c.want || ack.ServerTimestamp != now {
			t.Errorf("client ts %d: adjusted %d server %d, want %d and %d", c.client, ack.AdjustedTimestamp, ack.ServerTimestamp, c.want, now)
		}
	}
}

func TestSendAckOnlyAfterDurableAppend(t *testing.T) {
	t.Parallel()
	e := newEngine(t)
	ack := e.sendTo(t, "ann", "bob", "durable", "c1")
	// The event is readable from the log the moment Handle returns, by anyone.
	recs, err := e.store.ReadStream(context.Background(), ack.SessionID, 1, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 2 || recs[1].Type != "MessageSent" {
		t.Fatalf("stream after ack = %d events", len(recs))
	}
	// A cancelled request is refused and stores nothing.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = e.cmds.Send.Handle(ctx, command.Send{Meta: as("ann"), ToUserID: "bob", MessageType: 1, Content: "x", ClientMessageID: "c2"})
	if err == nil {
		t.Fatal("send with a cancelled context succeeded")
	}
	recs, _ = e.store.ReadStream(context.Background(), ack.SessionID, 1, 10)
	if len(recs) != 2 {
		t.Fatalf("refused send stored something: %d events", len(recs))
	}
}

// sendHonouringOverload sends as a client must: a send refused as overloaded
// (two nodes racing on one session can queue commands for long on a busy
// machine) is sent again after the hint.
func sendHonouringOverload(node *command.Commands, cmd command.Send) (command.SendAck, error) {
	for {
		ack, err := node.Send.Handle(context.Background(), cmd)
		var over *command.OverloadError
		if !errors.As(err, &over) {
			return ack, err
		}
		time.Sleep(over.RetryAfter)
	}
}
