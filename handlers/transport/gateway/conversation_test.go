package gateway_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/tellyou/tellyou/events"
)

// edit, react and reply build the frames of the conversation features.
func edit(id, sessionID, messageID, content string) map[string]any {
	return map[string]any{"type": "edit", "id": id, "sessionId": sessionID, "messageId": messageID, "content": content}
}

func react(id, sessionID, messageID, emoji string, remove bool) map[string]any {
	return map[string]any{"type": "react", "id": id, "sessionId": sessionID, "messageId": messageID, "emoji": emoji, "remove": remove}
}

// sendTo builds a send frame addressed to a user.
func sendTo(id, to, content string) map[string]any {
	f := send(id, "", content)
	delete(f, "sessionId")
	f["toUserId"] = to
	return f
}

func reply(id, sessionID, content, replyTo string) map[string]any {
	f := send(id, sessionID, content)
	f["replyTo"] = replyTo
	return f
}

// outOfState makes the session state forget the messages sent so far: a
// newer message comes more than the edit window and its minute of margin
// later. The history read model then holds them alone.
func (e *env) outOfState(t *testing.T, from, sessionID string) {
	t.Helper()
	e.Clock.Advance(e.Policy.EditWindow + time.Minute + time.Second)
	e.sendCmd(t, from, sessionID, "much later", uuid.NewString())
	e.CaughtUp(t)
}

// eventsOfType returns the payloads of a session's events of one type.
func (e *env) eventsOfType(t *testing.T, sessionID, typ string) []events.Payload {
	t.Helper()
	var out []events.Payload
	for _, env := range e.stream(t, sessionID) {
		if env.Payload.EventType() == typ {
			out = append(out, env.Payload)
		}
	}
	return out
}

func TestEdit(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	ann1, ann2, bob := e.connect(t, "ann"), e.connect(t, "ann"), e.connect(t, "bob")
	sent := ann1.request(sendTo("1", "bob", "helo"))
	if sent.Type != "sendAck" {
		t.Fatalf("send = %s", sent.raw)
	}
	bob.await("the message", isMessage(1))

	if f := ann1.request(edit("e1", "d:ann:bob", sent.MessageID, "hello")); f.Type != "ok" {
		t.Fatalf("edit = %s", f.raw)
	}
	editedAt := e.Clock.Now().UnixMilli()
	for name, c := range map[string]*client{"ann1": ann1, "ann2": ann2, "bob": bob} {
		f := c.await("edited", isType("edited"))
		if f.SessionID != "d:ann:bob" || f.MessageID != sent.MessageID || f.Seq != 1 || f.Content != "hello" || f.EditedAt != editedAt {
			t.Fatalf("%s got %s, want the edit at %d", name, f.raw, editedAt)
		}
	}
	if evs := e.eventsOfType(t, "d:ann:bob", events.TypeMessageEdited); len(evs) != 1 ||
		evs[0] != (events.MessageEdited{SessionID: "d:ann:bob", MessageID: sent.MessageID, Seq: 1, By: "ann", Content: "hello", EditedAt: editedAt}) {
		t.Fatalf("stored edits = %+v", evs)
	}

	if f := bob.request(edit("e2", "d:ann:bob", sent.MessageID, "mine now")); f.Code != "forbidden" {
		t.Fatalf("edit by the other member = %s", f.raw)
	}
	if f := ann1.request(edit("e3", "d:ann:bob", uuid.NewString(), "x")); f.Code != "not_found" {
		t.Fatalf("edit of an unknown message = %s", f.raw)
	}
	carl := e.connect(t, "carl")
	if f := carl.request(edit("e4", "d:ann:bob", sent.MessageID, "x")); f.Code != "forbidden" {
		t.Fatalf("edit by a stranger = %s", f.raw)
	}

	// A recalled message cannot be edited.
	gone := ann1.request(send("2", "d:ann:bob", "never mind"))
	if f := ann1.request(map[string]any{"type": "recall", "id": "r1", "sessionId": "d:ann:bob", "messageId": gone.MessageID}); f.Type != "ok" {
		t.Fatalf("recall = %s", f.raw)
	}
	if f := ann1.request(edit("e5", "d:ann:bob", gone.MessageID, "x")); f.Code != "forbidden" {
		t.Fatalf("edit of a recalled message = %s", f.raw)
	}

	// At the end of the window it is still allowed; after it, not.
	e.Clock.Advance(e.Policy.EditWindow)
	if f := ann1.request(edit("e6", "d:ann:bob", gone.MessageID, "x")); f.Code != "forbidden" {
		t.Fatalf("edit of a recalled message = %s", f.raw)
	}
	late := ann1.request(send("3", "d:ann:bob", "edit me late"))
	e.Clock.Advance(e.Policy.EditWindow)
	if f := ann1.request(edit("e7", "d:ann:bob", late.MessageID, "just in time")); f.Type != "ok" {
		t.Fatalf("edit at the end of the window = %s", f.raw)
	}
	e.Clock.Advance(time.Millisecond)
	if f := ann1.request(edit("e8", "d:ann:bob", late.MessageID, "too late")); f.Code != "forbidden" {
		t.Fatalf("edit after the window = %s", f.raw)
	}

	// Once the state no longer keeps the messages, the history answers.
	e.outOfState(t, "bob", "d:ann:bob")
	for _, c := range []struct {
		id, messageID, user, code string
	}{
		{"h1", late.MessageID, "ann", "forbidden"},   // the window has passed
		{"h2", late.MessageID, "bob", "forbidden"},   // not the sender
		{"h3", gone.MessageID, "ann", "forbidden"},   // recalled
		{"h4", uuid.NewString(), "ann", "not_found"}, // never existed
	} {
		conn := map[string]*client{"ann": ann1, "bob": bob}[c.user]
		if f := conn.request(edit(c.id, "d:ann:bob", c.messageID, "x")); f.Code != c.code {
			t.Errorf("edit %s of an old message by %s = %s, want %s", c.id, c.user, f.raw, c.code)
		}
	}
	if evs := e.eventsOfType(t, "d:ann:bob", events.TypeMessageEdited); len(evs) != 2 {
		t.Fatalf("%d edits stored, want 2", len(evs))
	}
}

func TestReactions(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	group := e.group(t, "ann", "bob")
	ann, bob, carl := e.connect(t, "ann"), e.connect(t, "bob"), e.connect(t, "carl")
	m := e.sendCmd(t, "ann", group, "react to me", "m1")
	bob.await("the message", isMessage(1))
	isReaction := func(user, emoji string, removed bool) func(frame) bool {
		return func(f frame) bool {
			return f.Type == "reaction" && f.UserID == user && f.Emoji == emoji && f.Removed == removed
		}
	}

	if f := bob.request(react("a1", group, m.MessageID, "👍", false)); f.Type != "ok" {
		t.Fatalf("react = %s", f.raw)
	}
	for name, c := range map[string]*client{"ann": ann, "bob": bob} {
		f := c.await("reaction", isReaction("bob", "👍", false))
		if f.SessionID != group || f.MessageID != m.MessageID || f.Seq != 1 {
			t.Fatalf("%s got %s", name, f.raw)
		}
	}
	stored := func() int {
		return len(e.eventsOfType(t, group, events.TypeReactionAdded)) + len(e.eventsOfType(t, group, events.TypeReactionRemoved))
	}
	if n := stored(); n != 1 {
		t.Fatalf("%d reaction events, want 1", n)
	}
	// The same reaction again: ok, nothing appended, nothing pushed.
	if f := bob.request(react("a2", group, m.MessageID, "👍", false)); f.Type != "ok" {
		t.Fatalf("repeated react = %s", f.raw)
	}
	if f := bob.request(react("a3", group, m.MessageID, "👍", true)); f.Type != "ok" {
		t.Fatalf("remove = %s", f.raw)
	}
	ann.await("removal", isReaction("bob", "👍", true))
	if f := bob.request(react("a4", group, m.MessageID, "👍", true)); f.Type != "ok" {
		t.Fatalf("repeated remove = %s", f.raw)
	}
	if n := stored(); n != 2 {
		t.Fatalf("%d reaction events, want 2 (an add and a remove)", n)
	}
	ann.barrier()
	if got := ann.matching(isType("reaction")); len(got) != 2 {
		t.Fatalf("ann got %d reaction pushes, want 2", len(got))
	}

	// Twenty distinct emojis fill the message; a 21st is refused, one
	// already there is not.
	for i := range e.Policy.MaxReactionEmojis {
		if f := ann.request(react(fmt.Sprint("f", i), group, m.MessageID, fmt.Sprint("e", i), false)); f.Type != "ok" {
			t.Fatalf("emoji %d = %s", i, f.raw)
		}
	}
	if f := bob.request(react("f21", group, m.MessageID, "one too many", false)); f.Code != "bad_request" || f.text() == "" {
		t.Fatalf("21st emoji = %s", f.raw)
	}
	if f := bob.request(react("f22", group, m.MessageID, "e3", false)); f.Type != "ok" {
		t.Fatalf("an emoji already there = %s", f.raw)
	}

	// The limits, on a message of its own.
	m3 := e.sendCmd(t, "ann", group, "limits", "m3")
	refusals := []struct {
		name  string
		c     *client
		frame map[string]any
		code  string
	}{
		{"emoji of 33 bytes", bob, react("b1", group, m3.MessageID, "123456789012345678901234567890123", false), "bad_request"},
		{"unknown message", bob, react("b2", group, uuid.NewString(), "👍", false), "not_found"},
		{"non-member", carl, react("b3", group, m3.MessageID, "👍", false), "forbidden"},
		{"unknown group", bob, react("b4", "g:"+uuid.NewString(), m3.MessageID, "👍", false), "not_found"},
	}
	for _, r := range refusals {
		if f := r.c.request(r.frame); f.Code != r.code {
			t.Errorf("%s = %s, want %s", r.name, f.raw, r.code)
		}
	}
	if f := bob.request(react("b5", group, m3.MessageID, "12345678901234567890123456789012", false)); f.Type != "ok" {
		t.Fatalf("emoji of 32 bytes = %s", f.raw)
	}

	// A recalled message: refused, and its reactions are gone from the
	// state (a new emoji would be the 21st otherwise).
	if f := ann.request(map[string]any{"type": "recall", "id": "r1", "sessionId": group, "messageId": m.MessageID}); f.Type != "ok" {
		t.Fatalf("recall = %s", f.raw)
	}
	if f := bob.request(react("c1", group, m.MessageID, "👍", false)); f.Code != "forbidden" {
		t.Fatalf("reaction to a recalled message = %s", f.raw)
	}

	// A message the state no longer keeps is found in the history.
	old := e.sendCmd(t, "bob", group, "old news", "m2")
	e.outOfState(t, "ann", group)
	if f := ann.request(react("d1", group, old.MessageID, "🎉", false)); f.Type != "ok" {
		t.Fatalf("reaction to an old message = %s", f.raw)
	}
	if f := bob.await("reaction to the old message", isReaction("ann", "🎉", false)); f.Seq != old.Seq {
		t.Fatalf("push = %s, want seq %d", f.raw, old.Seq)
	}
	if f := ann.request(react("d2", group, old.MessageID, "🎉", false)); f.Type != "ok" {
		t.Fatalf("repeated reaction to an old message = %s", f.raw)
	}
	if f := ann.request(react("d3", group, m.MessageID, "🎉", false)); f.Code != "forbidden" {
		t.Fatalf("reaction to an old recalled message = %s", f.raw)
	}
	if f := ann.request(react("d4", group, uuid.NewString(), "🎉", false)); f.Code != "not_found" {
		t.Fatalf("reaction to an unknown message = %s", f.raw)
	}
	if n := len(e.eventsOfType(t, group, events.TypeReactionAdded)); n != 1+e.Policy.MaxReactionEmojis+2+1 {
		t.Fatalf("%d reactions added, want %d", n, 1+e.Policy.MaxReactionEmojis+2+1)
	}
}

func TestReplies(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	ann, bob := e.connect(t, "ann"), e.connect(t, "bob")
	first := ann.request(sendTo("1", "bob", "question"))
	if m := bob.await("the question", isMessage(1)).msg(); m.ReplyTo != "" {
		t.Fatalf("the question was pushed as a reply: %+v", m)
	}

	if f := bob.request(reply("2", "d:ann:bob", "answer", first.MessageID)); f.Type != "sendAck" || f.Seq != 2 {
		t.Fatalf("reply = %s", f.raw)
	}
	if m := ann.await("the reply", isMessage(2)).msg(); m.ReplyTo != first.MessageID || m.Content != "answer" {
		t.Fatalf("pushed reply = %+v", m)
	}
	// A reply to another session's message, or to none, is refused.
	other := e.sendCmd(t, "carl", "d:ann:carl", "elsewhere", "o1")
	if f := bob.request(reply("3", "d:ann:bob", "x", other.MessageID)); f.Code != "not_found" || f.ClientMessageID != "c-3" {
		t.Fatalf("reply to another session's message = %s", f.raw)
	}
	if f := bob.request(reply("4", "d:ann:bob", "x", uuid.NewString())); f.Code != "not_found" {
		t.Fatalf("reply to an unknown message = %s", f.raw)
	}
	// A recalled message may be answered.
	if f := ann.request(map[string]any{"type": "recall", "id": "r1", "sessionId": "d:ann:bob", "messageId": first.MessageID}); f.Type != "ok" {
		t.Fatalf("recall = %s", f.raw)
	}
	if f := bob.request(reply("5", "d:ann:bob", "too late, I saw it", first.MessageID)); f.Type != "sendAck" {
		t.Fatalf("reply to a recalled message = %s", f.raw)
	}

	// A message the state no longer keeps is found in the history, and the
	// frames after the reply wait for it.
	e.outOfState(t, "ann", "d:ann:bob")
	bob.write(reply("6", "d:ann:bob", "remember this?", first.MessageID))
	bob.write(send("7", "d:ann:bob", "after the reply"))
	r, after := bob.answer("6"), bob.answer("7")
	if r.Type != "sendAck" || after.Type != "sendAck" || after.Seq != r.Seq+1 {
		t.Fatalf("reply to an old message = %s, then %s", r.raw, after.raw)
	}
	if m := ann.await("the late reply", isMessage(r.Seq)).msg(); m.ReplyTo != first.MessageID {
		t.Fatalf("pushed late reply = %+v", m)
	}
	stored := e.eventsOfType(t, "d:ann:bob", events.TypeMessageSent)
	if got := stored[len(stored)-2].(events.MessageSent); got.Seq != r.Seq || got.ReplyTo != first.MessageID {
		t.Fatalf("stored reply = %+v", got)
	}
	if f := bob.request(reply("8", "d:ann:bob", "x", other.MessageID)); f.Code != "not_found" {
		t.Fatalf("reply to another session's message, later = %s", f.raw)
	}
}
