package multinodetest_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/tellyou/tellyou/cmd/tellyou/servertest"
	"github.com/tellyou/tellyou/events/pgstore/pgtest"
)

// presenceWait bounds the waits for presence; a node's expiry is seconds.
const presenceWait = 30 * time.Second

// status is one entry of GET /v1/presence.
type status struct {
	UserID     string `json:"userId"`
	Online     bool   `json:"online"`
	LastSeenAt int64  `json:"lastSeenAt"`
}

// memberState is one entry of GET /v1/sessions/{id}/members.
type memberState struct {
	UserID      string `json:"userId"`
	Role        string `json:"role"`
	ReceivedSeq int64  `json:"receivedSeq"`
	ReadSeq     int64  `json:"readSeq"`
	Online      bool   `json:"online"`
	LastSeenAt  int64  `json:"lastSeenAt"`
}

// get makes a GET request as user and returns the status and the body.
func (n *node) get(t *testing.T, user, path string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, n.Base+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token(t, user))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	return resp.StatusCode, body
}

// presenceOf asks the node for users' presence as user; nil unless 200.
func (n *node) presenceOf(t *testing.T, user string, users ...string) []status {
	t.Helper()
	code, body := n.get(t, user, "/v1/presence?users="+strings.Join(users, ","))
	if code != http.StatusOK {
		return nil
	}
	var out []status
	if err := json.Unmarshal(body, &out); err != nil {
		t.Fatalf("presence answer %s: %v", body, err)
	}
	return out
}

// errorCode returns the code of an error answer.
func errorCode(t *testing.T, body []byte) string {
	t.Helper()
	var e struct{ Code string }
	if err := json.Unmarshal(body, &e); err != nil {
		t.Fatalf("error answer %s: %v", body, err)
	}
	return e.Code
}

// presenceFrames returns the presence frames received about user.
func (d *device) presenceFrames(user string) []status {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []status
	for _, f := range d.presence {
		if f["userId"] == user {
			out = append(out, status{UserID: user, Online: f["online"] == true, LastSeenAt: int64(f["lastSeenAt"].(float64))})
		}
	}
	return out
}

// lastPresence returns the last presence frame about user, if any.
func (d *device) lastPresence(user string) (status, bool) {
	frames := d.presenceFrames(user)
	if len(frames) == 0 {
		return status{}, false
	}
	return frames[len(frames)-1], true
}

// hasPushed reports whether a message push of (session, seq) arrived.
func (d *device) hasPushed(k key) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.pushed[k] > 0
}

func (d *device) close() {
	_ = d.conn.Close(websocket.StatusNormalClosure, "")
	<-d.closed
}

// TestPresenceAndMembersReadStateOnOneNode: a member's connection and its end
// are pushed to the users who share a session with them and to no one
// else; the members route shows exact watermarks, roles and presence to
// members only; GET /v1/presence answers for shared users only; lastSeenAt
// outlives a restart of the node.
func TestPresenceAndMembersReadStateOnOneNode(t *testing.T) {
	dbURL := pgtest.NewDatabase(t)
	env := []string{"TELLYOU_DATABASE_URL=" + dbURL}
	a := startNode(t, "a", env...)

	ann, zed := dial(t, a, "ann@a", "ann"), dial(t, a, "zed@a", "zed")
	var group struct {
		SessionID string `json:"sessionId"`
	}
	a.call(t, "POST", "ann", "/v1/sessions", map[string]any{"title": "presence", "members": []string{"bob", "cat"}}, &group)
	// Sharing is read from the sessions read model: wait until it has the group.
	waitFor(t, presenceWait, "the read model to show ann and bob sharing a session", func() bool {
		return a.presenceOf(t, "ann", "bob") != nil
	})

	bob := dial(t, a, "bob@a", "bob")
	waitFor(t, presenceWait, "ann to be told bob is online", func() bool {
		s, ok := ann.lastPresence("bob")
		return ok && s.Online
	})
	if got := a.presenceOf(t, "ann", "bob", "ann", "cat"); len(got) != 3 || !got[0].Online || !got[1].Online || got[2].Online || got[2].LastSeenAt != 0 {
		t.Fatalf("presence of bob, ann, cat to ann = %+v, want online, online, never seen", got)
	}

	// Read state: three messages, bob receives all and reads two.
	var last key
	for i := range 3 {
		k, err := ann.send(map[string]any{"sessionId": group.SessionID}, fmt.Sprintf("presence-%d", i))
		if err != nil {
			t.Fatal(err)
		}
		last = k
	}
	waitFor(t, presenceWait, "bob to get the messages", func() bool { return bob.hasPushed(last) })
	if f, err := bob.request(map[string]any{"type": "ack", "sessionId": group.SessionID, "seq": 2, "ackType": "read"}); err != nil || f["type"] != "ok" {
		t.Fatalf("bob's read ack: %v %v", f, err)
	}
	// bob's received acks go out as the pushes arrive, without an answer
	// awaited; the route reads the session's state, so once they are in
	// the log it shows them at once.
	var members []memberState
	waitFor(t, presenceWait, "bob's received ack of the third message", func() bool {
		code, body := a.get(t, "ann", "/v1/sessions/"+group.SessionID+"/members")
		if code != http.StatusOK {
			t.Fatalf("members: %d %s", code, body)
		}
		members = nil
		if err := json.Unmarshal(body, &members); err != nil {
			t.Fatal(err)
		}
		return len(members) == 3 && members[1].ReceivedSeq == 3
	})
	want := []memberState{
		{UserID: "ann", Role: "owner", Online: true},
		{UserID: "bob", Role: "member", ReceivedSeq: 3, ReadSeq: 2, Online: true},
		{UserID: "cat", Role: "member"},
	}
	for i := range want {
		if members[i] != want[i] {
			t.Errorf("member %d = %+v, want %+v", i, members[i], want[i])
		}
	}
	if code, body := a.get(t, "zed", "/v1/sessions/"+group.SessionID+"/members"); code != http.StatusForbidden || errorCode(t, body) != "forbidden" {
		t.Errorf("members to a stranger: %d %s, want 403 forbidden", code, body)
	}
	if code, body := a.get(t, "ann", "/v1/sessions/g:00000000-0000-4000-8000-000000000000/members"); code != http.StatusNotFound || errorCode(t, body) != "not_found" {
		t.Errorf("members of an unknown session: %d %s, want 404 not_found", code, body)
	}

	// GET /v1/presence: strangers and bad lists are refused.
	if code, body := a.get(t, "ann", "/v1/presence?users=bob,zed"); code != http.StatusForbidden || errorCode(t, body) != "forbidden" {
		t.Errorf("presence of a stranger: %d %s, want 403 forbidden", code, body)
	}
	many := make([]string, 101)
	for i := range many {
		many[i] = fmt.Sprintf("u%d", i)
	}
	for _, q := range []string{"", "?users=", "?users=bob,,cat", "?users=b%20b", "?users=" + strings.Join(many, ",")} {
		if code, body := a.get(t, "ann", "/v1/presence"+q); code != http.StatusBadRequest || errorCode(t, body) != "bad_request" {
			t.Errorf("GET /v1/presence%.40s: %d %s, want 400 bad_request", q, code, body)
		}
	}

	// bob leaves: ann is told, with when.
	bob.close()
	var gone status
	waitFor(t, presenceWait, "ann to be told bob is offline", func() bool {
		s, ok := ann.lastPresence("bob")
		gone = s
		return ok && !s.Online
	})
	if gone.LastSeenAt <= 0 {
		t.Fatalf("offline push without lastSeenAt: %+v", gone)
	}
	if got := a.presenceOf(t, "ann", "bob"); len(got) != 1 || got[0] != gone {
		t.Fatalf("presence of bob after he left = %+v, want %+v", got, gone)
	}
	// zed shares no session with bob: nothing about bob came to zed. A
	// message pushed to zed after ann got bob's frames comes after any
	// frame queued for zed with them.
	k, err := ann.send(map[string]any{"toUserId": "zed"}, "after-presence")
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, presenceWait, "zed to get ann's message", func() bool { return zed.hasPushed(k) })
	if frames := zed.presenceFrames("bob"); len(frames) != 0 {
		t.Fatalf("a stranger got bob's presence: %+v", frames)
	}

	// lastSeenAt is stored: a restarted node answers it.
	a.stop()
	a2 := startNode(t, "a2", env...)
	if got := a2.presenceOf(t, "ann", "bob"); len(got) != 1 || got[0] != gone {
		t.Fatalf("presence of bob after a restart = %+v, want %+v", got, gone)
	}
}

// TestPresenceAcrossNodes: a user connecting on one node is seen online by a
// member connected to another, who gets the push; a node started later
// learns who is online; a node that dies without a word takes its users
// offline on the others once it has been silent for the expiry.
func TestPresenceAcrossNodes(t *testing.T) {
	if !natsReachable() {
		t.Skip("no NATS server at 127.0.0.1:4222; start it with: nats-server -a 127.0.0.1 -p 4222 -js")
	}
	prefix := "prtest_" + randomHex(6)
	t.Cleanup(func() { servertest.DeleteNATSStreams(t, prefix+"_events") })
	dbURL := pgtest.NewDatabase(t)
	env := []string{"TELLYOU_DATABASE_URL=" + dbURL, "TELLYOU_BUS=nats://127.0.0.1:4222", "TELLYOU_BUS_PREFIX=" + prefix,
		"TELLYOU_PRESENCE_EXPIRY=3s"}
	a := startNode(t, "a", env...)
	b := startNode(t, "b", env...)

	ann := dial(t, a, "ann@a", "ann")
	if err := sendDirect(ann, "bob"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, presenceWait, "the read model to show ann and bob sharing a session", func() bool {
		return a.presenceOf(t, "ann", "bob") != nil
	})

	dial(t, b, "bob@b", "bob")
	waitFor(t, presenceWait, "ann on a to be told bob on b is online", func() bool {
		s, ok := ann.lastPresence("bob")
		return ok && s.Online
	})
	if got := a.presenceOf(t, "ann", "bob"); len(got) != 1 || !got[0].Online {
		t.Fatalf("presence of bob on a = %+v, want online", got)
	}
	// A node started now learns from the others who is online.
	c := startNode(t, "c", env...)
	waitFor(t, presenceWait, "c to learn that ann and bob are online", func() bool {
		got := c.presenceOf(t, "ann", "ann", "bob")
		return len(got) == 2 && got[0].Online && got[1].Online
	})

	// b dies without a word: after the expiry, a and c take bob offline.
	b.kill()
	var gone status
	waitFor(t, presenceWait, "ann on a to be told bob is offline", func() bool {
		s, ok := ann.lastPresence("bob")
		gone = s
		return ok && !s.Online
	})
	if gone.LastSeenAt <= 0 {
		t.Fatalf("offline push without lastSeenAt: %+v", gone)
	}
	waitFor(t, presenceWait, "c to take bob offline", func() bool {
		got := c.presenceOf(t, "ann", "bob")
		return len(got) == 1 && !got[0].Online && got[0].LastSeenAt > 0
	})
	if got := a.presenceOf(t, "ann", "ann"); len(got) != 1 || !got[0].Online {
		t.Fatalf("ann, still connected to a, = %+v, want online", got)
	}
}

// sendDirect sends one direct message from d to peer, creating the session.
func sendDirect(d *device, peer string) error {
	_, err := d.send(map[string]any{"toUserId": peer}, "hello-"+peer)
	return err
}
