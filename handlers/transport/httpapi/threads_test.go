package httpapi_test

import (
	"context"
	"encoding/json"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/tellyou/tellyou/events"
)

// appendEvents appends payloads to a session's stream as the write side
// would, after the commands made so far.
func (s *server) appendEvents(t *testing.T, sessionID string, payloads ...events.Payload) {
	t.Helper()
	data := make([]events.EventData, len(payloads))
	for i, p := range payloads {
		d, err := events.Encode(events.Envelope{Payload: p, Meta: events.Metadata{Actor: "test", CorrelationID: "test",
			OccurredAt: s.Clock.Now().UnixMilli()}})
		if err != nil {
			t.Fatal(err)
		}
		data[i] = d
	}
	if _, err := s.Store.Append(context.Background(), sessionID, events.AnyVersion, data); err != nil {
		t.Fatal(err)
	}
}

// reply returns the message from answering to at seq, not yet appended.
func (s *server) reply(sessionID string, seq int64, from, content, to string) events.MessageSent {
	now := s.Clock.Now().UnixMilli()
	return events.MessageSent{SessionID: sessionID, MessageID: uuid.NewString(), Seq: seq, SenderID: from,
		MessageType: 1, Content: content, ClientMessageID: newClientID(), ClientTimestamp: now,
		ServerTimestamp: now, AdjustedTimestamp: now, ReplyTo: to}
}

func TestMessagesCarryEditsReactionsAndReplies(t *testing.T) {
	t.Parallel()
	s := newServer(t, serverOptions{})
	root := s.sendTo(t, "ann", "bob", "root")
	d := root.SessionID
	s.send(t, "ann", d, "not a reply")
	first := s.reply(d, 3, "bob", "first reply", root.MessageID)
	s.appendEvents(t, d, first)
	s.send(t, "ann", d, "not a reply either")
	second := s.reply(d, 5, "ann", "second reply", root.MessageID)
	edit := events.MessageEdited{SessionID: d, MessageID: root.MessageID, Seq: root.Seq, By: "ann",
		Content: "root, edited", EditedAt: s.Clock.Now().UnixMilli()}
	s.appendEvents(t, d, second, edit,
		events.ReactionAdded{SessionID: d, MessageID: root.MessageID, Seq: root.Seq, UserID: "bob", Emoji: "👍"},
		events.ReactionAdded{SessionID: d, MessageID: root.MessageID, Seq: root.Seq, UserID: "ann", Emoji: "👍"},
		events.ReactionAdded{SessionID: d, MessageID: root.MessageID, Seq: root.Seq, UserID: "bob", Emoji: "🎉"},
		events.ReactionRemoved{SessionID: d, MessageID: root.MessageID, Seq: root.Seq, UserID: "bob", Emoji: "🎉"})
	s.CaughtUp(t)
	base := "/v1/sessions/" + d + "/messages"

	a := s.get(t, "bob", base)
	page := decodeAs[messagePage](t, a, http.StatusOK)
	if got := seqs(page.Messages); !slices.Equal(got, []int64{1, 2, 3, 4, 5}) || page.LastSeq != 5 {
		t.Fatalf("history %v lastSeq %d", got, page.LastSeq)
	}
	wantRoot := func(where string, m wireMessage) {
		t.Helper()
		if m.Content != "root, edited" || m.EditedAt != edit.EditedAt || m.ReplyTo != "" ||
			!maps.EqualFunc(m.Reactions, map[string][]string{"👍": {"bob", "ann"}}, slices.Equal) {
			t.Errorf("%s: root = %+v; want the edit and bob's then ann's 👍", where, m)
		}
	}
	wantRoot("history", page.Messages[0])
	if m := page.Messages[2]; m.ReplyTo != root.MessageID || m.EditedAt != 0 || m.Reactions != nil {
		t.Errorf("first reply = %+v", m)
	}
	var raw struct{ Messages []json.RawMessage }
	if err := json.Unmarshal(a.body, &raw); err != nil {
		t.Fatal(err)
	}
	wantKeys(t, raw.Messages[0], append(messageKeys, "editedAt", "reactions")...)
	wantKeys(t, raw.Messages[2], append(messageKeys, "replyTo")...)
	if plain := string(raw.Messages[1]); strings.Contains(plain, "editedAt") || strings.Contains(plain, "reactions") ||
		strings.Contains(plain, "replyTo") {
		t.Errorf("a message never edited, reacted to or replying: %s", plain)
	}
	inbox := decodeAs[inboxAnswer](t, s.get(t, "bob", "/v1/inbox"), http.StatusOK)
	wantRoot("inbox", inbox.Messages[0])
	if last := decodeAs[sessionList](t, s.get(t, "bob", "/v1/sessions"), http.StatusOK).Sessions[0].LastMessage; last == nil || last.ReplyTo != root.MessageID {
		t.Errorf("last message = %+v, want the second reply", last)
	}

	for _, p := range []struct {
		query   string
		seqs    []int64
		hasMore bool
	}{
		{"?replyTo=" + root.MessageID, []int64{3, 5}, false},
		{"?replyTo=" + strings.ToUpper(root.MessageID), []int64{3, 5}, false},
		{"?replyTo=" + root.MessageID + "&limit=1", []int64{3}, true},
		{"?replyTo=" + root.MessageID + "&afterSeq=3&limit=1", []int64{5}, false},
		{"?replyTo=" + root.MessageID + "&beforeSeq=5", []int64{3}, false},
		{"?replyTo=" + root.MessageID + "&beforeSeq=6&limit=1", []int64{5}, true},
		{"?replyTo=" + first.MessageID, []int64{}, false},
		{"?replyTo=" + uuid.NewString(), []int64{}, false},
	} {
		a := s.get(t, "ann", base+p.query)
		wantKeys(t, a.body, "messages", "lastSeq", "hasMore")
		page := decodeAs[messagePage](t, a, http.StatusOK)
		if got := seqs(page.Messages); !slices.Equal(got, p.seqs) || page.HasMore != p.hasMore || page.LastSeq != 5 || page.Messages == nil {
			t.Errorf("%s: seqs %v hasMore %v lastSeq %d; want %v %v 5", p.query, got, page.HasMore, page.LastSeq, p.seqs, p.hasMore)
		}
		for _, m := range page.Messages {
			if m.ReplyTo != root.MessageID {
				t.Errorf("%s: message %d replies to %q", p.query, m.Seq, m.ReplyTo)
			}
		}
	}
	for _, q := range []string{"replyTo=nope", "replyTo=", "replyTo=" + root.MessageID + "x", "replyTo=%zz"} {
		wantError(t, s.get(t, "ann", base+"?"+q), http.StatusBadRequest, "bad_request")
	}
	wantError(t, s.get(t, "ann", base+"?replyTo=nope"), http.StatusBadRequest, "bad_request", "replyTo")
	wantError(t, s.get(t, "ann", base+"?replyTo="+root.MessageID+"&markRead=true"), http.StatusBadRequest, "bad_request", "markRead")
	wantError(t, s.get(t, "carl", base+"?replyTo="+root.MessageID), http.StatusForbidden, "forbidden")

	// Audit shows every version of an edited message.
	evs := decodeAs[auditAnswer](t, s.get(t, "auditor-1", "/v1/audit/sessions/"+d+"/events"), http.StatusOK).Events
	var types, contents []string
	for _, ev := range evs {
		types = append(types, ev.Type)
		var data struct {
			Content string `json:"content"`
		}
		if err := json.Unmarshal(ev.Data, &data); err != nil {
			t.Fatal(err)
		}
		if ev.Opened != nil { // sealed by the commands; appended in clear by the test
			data.Content = ev.Opened.Content
		}
		if ev.Type == events.TypeMessageEdited || (ev.Type == events.TypeMessageSent && ev.Version == 2) {
			contents = append(contents, data.Content)
		}
	}
	if !slices.Contains(types, events.TypeMessageEdited) || !slices.Contains(types, events.TypeReactionAdded) ||
		!slices.Contains(types, events.TypeReactionRemoved) || !slices.Equal(contents, []string{"root", "root, edited"}) {
		t.Errorf("audit types %v, root's contents %q; want the edit beside the send", types, contents)
	}
}
