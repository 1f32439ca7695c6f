package projections_test

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/tellyou/tellyou/handlers/command"
	"github.com/tellyou/tellyou/handlers/handlerstest"
	"github.com/tellyou/tellyou/handlers/query"
	"github.com/tellyou/tellyou/projections"
	"github.com/tellyou/tellyou/readmodels"
)

// multiByteLine mixes 1- to 4-byte UTF-8 sequences, a combining mark and a
// zero-width joiner sequence.
const multiByteLine = "Grüße, naïve café — 你好，世界！こんにちは 한국어 Ελληνικά русский 🦊👩‍💻 e\u0301\n"

// storedRow is a message's row as the history projection wrote it.
type storedRow struct {
	content, encoding string
	packed            []byte
}

func readStoredRow(t *testing.T, e *handlerstest.Engine, messageID string) storedRow {
	t.Helper()
	var r storedRow
	err := e.Pool.QueryRow(ctx, `SELECT content, content_encoding, content_packed FROM rm_messages
		WHERE message_id = $1`, messageID).Scan(&r.content, &r.encoding, &r.packed)
	if err != nil {
		t.Fatalf("read row of message %s: %v", messageID, err)
	}
	return r
}

// dumpHistory renders every column of every rm_messages row.
func dumpHistory(t *testing.T, e *handlerstest.Engine) string {
	t.Helper()
	rows, err := e.Pool.Query(ctx, `SELECT session_id, seq, message_id, content, content_encoding,
		encode(content_packed, 'hex'), ext::text, recalled FROM rm_messages ORDER BY session_id, seq`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var sb strings.Builder
	for rows.Next() {
		vals, err := rows.Values()
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintln(&sb, vals...)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return sb.String()
}

// TestLargeContentIsStoredCompressedAndReadBackExactly sends messages through
// the real command handlers, lets the real projections store them and reads
// them back through every read path, before and after a rebuild.
func TestLargeContentIsStoredCompressedAndReadBackExactly(t *testing.T) {
	t.Parallel()
	e := handlerstest.New(t, handlerstest.Options{})
	as := func(user string) command.RequestMeta { return command.RequestMeta{Actor: user} }
	group, err := e.Commands.CreateGroup.Handle(ctx, command.CreateGroup{Meta: as("alice"), Title: "docs",
		Members: []string{"bob", "carol"}})
	if err != nil {
		t.Fatal(err)
	}
	sent := map[string]string{} // message id → content
	var order []string
	send := func(from, content string) string {
		t.Helper()
		ack, err := e.Commands.Send.Handle(ctx, command.Send{Meta: as(from), SessionID: group.ID, MessageType: 1,
			Content: content, ClientMessageID: fmt.Sprintf("c%d", len(order)), ClientTimestamp: e.Clock.Now().UnixMilli()})
		if err != nil {
			t.Fatalf("send %d bytes: %v", len(content), err)
		}
		sent[ack.MessageID] = content
		order = append(order, ack.MessageID)
		return ack.MessageID
	}
	var lines strings.Builder
	for i := range 100 {
		fmt.Fprintf(&lines, "%d. %s", i*7919%1000, multiByteLine)
	}
	large := lines.String() // ~13 KB
	at := readmodels.CompressContentAbove
	small := send("alice", "short and sweet ✓")
	atThreshold := send("alice", strings.Repeat("é", at/2)) // exactly the threshold, in 2-byte runes
	justOver := send("bob", strings.Repeat("x", at)+"é")
	big := send("bob", large)
	recalled := send("alice", strings.Repeat("to be recalled ", 200))
	if err := e.Commands.Recall.Handle(ctx, command.Recall{Meta: as("alice"), SessionID: group.ID, MessageID: recalled}); err != nil {
		t.Fatal(err)
	}
	delete(sent, recalled)
	last := send("alice", large+"the end")
	e.CaughtUp(t)

	checkRows := func(when string) {
		t.Helper()
		for _, id := range []string{small, atThreshold} {
			if r := readStoredRow(t, e, id); r.encoding != readmodels.ContentPlain || r.content != sent[id] || r.packed != nil {
				t.Errorf("%s: %d-byte message stored as %q (%d packed bytes), want plain text", when, len(sent[id]), r.encoding, len(r.packed))
			}
		}
		for _, id := range []string{justOver, big, last} {
			r := readStoredRow(t, e, id)
			content := sent[id]
			if r.encoding != readmodels.ContentDeflate || r.content != "" || len(r.packed) == 0 || len(r.packed) >= len(content) ||
				bytes.Contains(r.packed, []byte(content[:64])) {
				t.Errorf("%s: %d-byte message stored as %q with %d-byte text and %d packed bytes; want compressed",
					when, len(content), r.encoding, len(r.content), len(r.packed))
			}
		}
		if r := readStoredRow(t, e, recalled); r.encoding != readmodels.ContentPlain || r.content != "" || r.packed != nil {
			t.Errorf("%s: recalled message stored as %q, %q, %d packed bytes; want plain and empty", when, r.encoding, r.content, len(r.packed))
		}
		t.Logf("%s: %d bytes of content stored in %d", when, len(large), len(readStoredRow(t, e, big).packed))
	}
	checkReads := func(when string) {
		t.Helper()
		same := func(path string, m readmodels.Message) {
			t.Helper()
			if m.MessageID == recalled {
				if !m.Recalled || m.Content != "" {
					t.Errorf("%s, %s: recalled message %+v", when, path, m)
				}
				return
			}
			want, ok := sent[m.MessageID]
			if !ok {
				t.Errorf("%s, %s: unknown message %s", when, path, m.MessageID)
			} else if m.Content != want {
				t.Errorf("%s, %s: message %s came back as %d bytes, want the %d sent", when, path, m.MessageID, len(m.Content), len(want))
			}
		}
		// History, paging forward in pages of 2 and back from the end.
		n := 0
		for after := int64(0); ; {
			page, err := e.Queries.Messages(ctx, query.MessagesQuery{Meta: as("carol"), SessionID: group.ID,
				Page: readmodels.PageQuery{AfterSeq: after, Limit: 2}})
			if err != nil {
				t.Fatalf("%s: page after %d: %v", when, after, err)
			}
			for _, m := range page.Messages {
				same("forward page", m)
				n++
			}
			if !page.HasMore {
				break
			}
			after = page.Messages[len(page.Messages)-1].Seq
		}
		back, err := e.RM.Messages(ctx, group.ID, readmodels.PageQuery{BeforeSeq: 1 << 40, Limit: 3})
		if err != nil || len(back.Messages) != 3 {
			t.Fatalf("%s: page back: %d messages, %v", when, len(back.Messages), err)
		}
		for _, m := range back.Messages {
			same("backward page", m)
		}
		if n != len(order) {
			t.Errorf("%s: paging gave %d messages, want %d", when, n, len(order))
		}
		for _, id := range order {
			m, err := e.RM.MessageByID(ctx, group.ID, id)
			if err != nil {
				t.Fatalf("%s: message by id: %v", when, err)
			}
			same("by id", m)
		}
		// The offline inbox and the sessions list's last message.
		inbox, err := e.Queries.Inbox(ctx, "carol", 0)
		if err != nil || len(inbox) != len(order) {
			t.Fatalf("%s: carol's inbox: %d messages, %v; want %d", when, len(inbox), err, len(order))
		}
		for _, m := range inbox {
			same("inbox", m)
		}
		list, err := e.Queries.Sessions(ctx, "carol")
		if err != nil || len(list) != 1 || list[0].LastMessage == nil || list[0].LastMessage.MessageID != last {
			t.Fatalf("%s: carol's sessions %+v, %v", when, list, err)
		}
		same("sessions list", *list[0].LastMessage)
		one, err := e.RM.Session(ctx, group.ID, "bob")
		if err != nil || one.LastMessage == nil {
			t.Fatalf("%s: bob's session: %+v, %v", when, one, err)
		}
		same("session", *one.LastMessage)
	}

	checkRows("live")
	checkReads("live")
	before := dumpHistory(t, e)
	if _, err := projections.RebuildAllOpened(ctx, e.Store, e.Pool, []projections.Projection{projections.History()}, nil, e.Sealer); err != nil {
		t.Fatalf("rebuild: %v", err)
	}
	e.CaughtUp(t)
	if after := dumpHistory(t, e); after != before {
		t.Errorf("the rebuilt history differs from the live one:\nlive:\n%.2000s\nrebuilt:\n%.2000s", before, after)
	}
	checkRows("rebuilt")
	checkReads("rebuilt")
}
