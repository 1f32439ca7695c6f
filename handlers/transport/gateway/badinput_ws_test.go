package gateway_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/coder/websocket"

	"github.com/tellyou/tellyou/events"
	"github.com/tellyou/tellyou/handlers/transport/ws"
)

// wsBadInput is one frame of the WebSocket bad-input table and what must
// come of it.
type wsBadInput struct {
	name  string
	frame any // string: a text frame as is; []byte: a binary frame; else JSON
	// id is the frame's id, which its answer echoes; "" when the frame's id
	// cannot be read (the answer is then the next error frame).
	id string
	// code is the error code of a refused frame; "" for an accepted one,
	// whose answer has the type answer.
	code, answer string
	// cmid is the clientMessageId an error answer echoes.
	cmid string
	// stored is how many events an accepted frame appends; a refused frame
	// appends none.
	stored int64
	// check, when set, checks an accepted frame's answer and effect further.
	check func(t *testing.T, e *env, answer frame)
}

const (
	sqlText  = `'; DROP TABLE tellyou_events; --`
	twoTo64  = "18446744073709551616"
	maxInt64 = "9223372036854775807"
	minInt64 = "-9223372036854775808"
)

// nested is n arrays, each in the one before.
func nested(n int) string { return strings.Repeat("[", n) + strings.Repeat("]", n) }

func TestBadInputOverWebSocket(t *testing.T) {
	t.Parallel()
	// A frame burst above the table's frames and a send rate low enough
	// that floods meet it whatever the machine's speed.
	const frameBurst, sendBurst = 400, 60
	e := newGuardedEnv(t, ws.Limits{FrameRate: 20, FrameBurst: frameBurst, SendRate: 5, SendBurst: sendBurst})
	e.sendCmd(t, "ann", "d:ann:bob", "hello", "setup-1")
	bobMsg := e.sendCmd(t, "bob", "d:ann:bob", "hi ann", "setup-2")
	carlGroup := e.group(t, "carl", "dave")
	carlMsg := e.sendCmd(t, "carl", carlGroup, "secret plans", "setup-3")
	e.sendCmd(t, "carl", "d:carl:dave", "psst", "setup-4")
	ann := e.connect(t, "ann")

	cases := wsBadInputs(bobMsg.MessageID, carlGroup, carlMsg.MessageID)
	for i, c := range cases {
		e.runWSBadInput(t, ann, i, c)
	}
	n := len(cases)
	n += e.wsClosingInputs(t, ann)
	n += e.wsFloods(t, frameBurst, sendBurst)

	// Everything accepted reached the read models: no stored input stops a
	// projection.
	e.CaughtUp(t)
	e.tablesIntact(t)
	t.Logf("ran %d bad-input cases over WebSocket", n)
}

// runWSBadInput writes one frame, checks its answer, that the connection
// still answers a valid frame and that only an accepted frame stored events.
func (e *env) runWSBadInput(t *testing.T, c *client, i int, in wsBadInput) {
	t.Helper()
	before := e.storedCounts(t)
	errs := len(c.matching(isType("error")))
	switch f := in.frame.(type) {
	case []byte:
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		err := c.conn.Write(ctx, websocket.MessageBinary, f)
		cancel()
		if err != nil {
			t.Fatalf("%s: write: %v", in.name, err)
		}
	default:
		c.write(f)
	}
	var got frame
	if in.id != "" {
		got = c.answer(in.id)
	} else {
		got = c.awaitCount(in.name+" error", errs+1, isType("error"))[errs]
	}
	switch {
	case in.code != "":
		if got.Type != "error" || got.Code != in.code || got.ID != in.id || got.ClientMessageID != in.cmid || got.text() == "" {
			t.Errorf("%s: got %s, want error %s echoing id %q and clientMessageId %q", in.name, got.raw, in.code, in.id, in.cmid)
		}
	case got.Type != in.answer:
		t.Errorf("%s: got %s, want %s", in.name, got.raw, in.answer)
	case in.check != nil:
		in.check(t, e, got)
	}
	// Still open and answering.
	after := fmt.Sprintf("after-%d", i)
	if f := c.request(map[string]any{"type": "typing", "id": after, "sessionId": "d:ann:bob"}); f.Type != "ok" {
		t.Fatalf("%s: the valid frame after it got %s", in.name, f.raw)
	}
	if in.id != "" {
		if n := len(c.matching(func(f frame) bool { return f.ID == in.id })); n != 1 {
			t.Errorf("%s: %d answers, want exactly 1", in.name, n)
		}
	}
	stored := e.storedCounts(t)
	want := before
	if in.code == "" {
		want.events += in.stored
	}
	if stored != want {
		t.Errorf("%s: the log went from %+v to %+v, want %+v", in.name, before, stored, want)
	}
}

// lastSent returns the newest MessageSent of a session's stream.
func (e *env) lastSent(t *testing.T, sessionID string) events.MessageSent {
	t.Helper()
	s := e.stream(t, sessionID)
	for i := len(s) - 1; i >= 0; i-- {
		if m, ok := s[i].Payload.(events.MessageSent); ok {
			return m
		}
	}
	t.Fatalf("no message in %s", sessionID)
	return events.MessageSent{}
}

// storedVerbatim checks that the newest message of d:ann:bob is ann's with
// the given content, clientMessageId and ext, byte for byte.
func storedVerbatim(content, cmid, ext string) func(*testing.T, *env, frame) {
	return func(t *testing.T, e *env, ack frame) {
		t.Helper()
		m := e.lastSent(t, "d:ann:bob")
		if m.Content != content || m.ClientMessageID != cmid || string(m.Ext) != ext || m.SenderID != "ann" ||
			m.Seq != ack.Seq || m.MessageID != ack.MessageID {
			t.Errorf("stored %+v (ext %s) for ack %s; want content %q, clientMessageId %q, ext %s", m, m.Ext, ack.raw, content, cmid, ext)
		}
	}
}

// wsClosingInputs are the inputs that close the connection: a frame over
// the size limit, deep nesting or not. Nothing is stored and the user's
// other connection goes on. It returns the number of cases.
func (e *env) wsClosingInputs(t *testing.T, other *client) int {
	t.Helper()
	frames := map[string]string{
		"frame over 64 KiB": `{"type":"typing","id":"big","sessionId":"d:ann:bob","pad":"` + strings.Repeat("z", ws.DefaultMaxFrameBytes) + `"}`,
		"ext nested 100,000 deep": `{"type":"send","id":"deep","sessionId":"d:ann:bob","messageType":1,"content":"x","clientMessageId":"deep",` +
			`"ext":{"a":` + nested(100_000) + `}}`,
	}
	for name, f := range frames {
		before := e.storedCounts(t)
		c := e.connect(t, "ann")
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		_ = c.conn.Write(ctx, websocket.MessageText, []byte(f)) // may fail once the server has closed
		cancel()
		if got := c.closed(); got != websocket.StatusMessageTooBig {
			t.Errorf("%s: close status %v (%v), want 1009", name, got, c.err)
		}
		if f := other.request(map[string]any{"type": "typing", "id": "still-" + name, "sessionId": "d:ann:bob"}); f.Type != "ok" {
			t.Errorf("%s: the other connection got %s", name, f.raw)
		}
		if after := e.storedCounts(t); after != before {
			t.Errorf("%s: the log went from %+v to %+v", name, before, after)
		}
	}
	return len(frames)
}

// floodWindow bounds the unanswered frames of a flood, whose answers stay
// far below ws.DefaultMaxQueueBytes.
const floodWindow = 64

// wsFloods floods one connection with refused frames and another with
// sends: past the bursts they are answered rate_limited, every frame gets
// exactly one answer, and only the acked sends are stored. It returns the
// number of cases.
func (e *env) wsFloods(t *testing.T, frameBurst, sendBurst int) int {
	t.Helper()
	e.sendCmd(t, "mallory", "d:ann:mallory", "hi", "flood-setup")
	flood := func(name string, n int, build func(i int) map[string]any, answered func(frame) bool) (limited, other int) {
		t.Helper()
		c := e.connect(t, "mallory")
		before := e.storedCounts(t)
		ours := func(f frame) bool { return strings.HasPrefix(f.ID, name+"-") }
		for i := range n {
			// At full speed, but reading: never more unanswered frames than
			// the server's outgoing queue holds, or it would rightly close
			// the connection as too slow.
			if i >= floodWindow {
				c.awaitCount(name+" answers", i-floodWindow+1, ours)
			}
			c.write(build(i))
		}
		answers := c.awaitCount(name+" answers", n, ours)
		for i := range n {
			id := fmt.Sprintf("%s-%d", name, i)
			if got := c.matching(func(f frame) bool { return f.ID == id }); len(got) != 1 {
				t.Errorf("%s: frame %d got %d answers", name, i, len(got))
			}
		}
		for _, f := range answers {
			switch {
			case f.Code == "rate_limited":
				limited++
			case answered(f):
				other++
			default:
				t.Errorf("%s: unexpected answer %s", name, f.raw)
			}
		}
		if limited == 0 {
			t.Errorf("%s: none of %d frames was rate limited", name, n)
		}
		stored := e.storedCounts(t)
		if name == "send" && (stored.events != before.events+int64(other) || stored.streams != before.streams) {
			t.Errorf("%s: the log went from %+v to %+v with %d sends acked", name, before, stored, other)
		}
		if name != "send" && stored != before {
			t.Errorf("%s: the log went from %+v to %+v", name, before, stored)
		}
		t.Logf("%s flood: %d of %d frames answered rate_limited", name, limited, n)
		return limited, other
	}
	flood("junk", frameBurst+200, func(i int) map[string]any {
		return map[string]any{"type": "dance", "id": fmt.Sprintf("junk-%d", i)}
	}, func(f frame) bool { return f.Code == "bad_request" })
	flood("send", sendBurst+40, func(i int) map[string]any {
		return send(fmt.Sprintf("send-%d", i), "d:ann:mallory", "spam")
	}, isType("sendAck"))
	return 2
}
