package httpapi_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tellyou/tellyou/domain"
)

func TestInboxOldestFirstAndShrinksOnReceivedAck(t *testing.T) {
	t.Parallel()
	s := newServer(t, serverOptions{})
	d := s.sendTo(t, "ann", "bob", "d1").SessionID
	s.Clock.Advance(time.Second)
	s.send(t, "ann", d, "d2")
	s.send(t, "bob", d, "bob's own, never in his inbox")
	s.Clock.Advance(time.Second)
	g := s.group(t, "cat", "g", "bob")
	s.send(t, "cat", g, "g1")
	s.Clock.Advance(time.Second)
	s.send(t, "ann", d, "d4")
	s.CaughtUp(t)

	inbox := func(query string) []string {
		t.Helper()
		a := s.get(t, "bob", "/v1/inbox"+query)
		msgs := decodeAs[inboxAnswer](t, a, http.StatusOK).Messages
		if msgs == nil {
			t.Fatalf("inbox messages is null: %s", a.body)
		}
		var out []string
		for _, m := range msgs {
			out = append(out, m.Content)
		}
		return out
	}
	if got := strings.Join(inbox(""), ","); got != "d1,d2,g1,d4" {
		t.Fatalf("bob's inbox = %s, want d1,d2,g1,d4 (oldest first)", got)
	}
	if got := strings.Join(inbox("?limit=2"), ","); got != "d1,d2" {
		t.Fatalf("bob's inbox with limit 2 = %s", got)
	}
	if got := strings.Join(inbox("?limit=500"), ","); got != "d1,d2,g1,d4" {
		t.Fatalf("bob's inbox with limit 500 = %s", got)
	}
	s.ack(t, "bob", d, 2, domain.AckReceived)
	s.CaughtUp(t)
	if got := strings.Join(inbox(""), ","); got != "g1,d4" {
		t.Fatalf("bob's inbox after acking d2 received = %s, want g1,d4", got)
	}
	s.ack(t, "bob", g, 1, domain.AckReceived)
	s.ack(t, "bob", d, 4, domain.AckRead) // read implies received
	s.CaughtUp(t)
	if a := s.get(t, "bob", "/v1/inbox"); strings.TrimSpace(string(a.body)) != `{"messages":[]}` {
		t.Fatalf("bob's inbox after acking everything = %s", a.body)
	}
	if got := inbox(""); len(got) != 0 {
		t.Fatalf("inbox = %v", got)
	}
	for _, q := range []string{"limit=0", "limit=-1", "limit=501", "limit=x", "limit=", "limit=%zz"} {
		want := "limit"
		if strings.Contains(q, "%") {
			want = "query"
		}
		wantError(t, s.get(t, "bob", "/v1/inbox?"+q), http.StatusBadRequest, "bad_request", want)
	}
}

func TestUnreadCountsFollowTheProtocol(t *testing.T) {
	t.Parallel()
	s := newServer(t, serverOptions{})
	d := s.sendTo(t, "ann", "bob", "1").SessionID
	s.send(t, "ann", d, "2")
	three := s.send(t, "ann", d, "3")
	s.send(t, "bob", d, "bob's own")
	g := s.group(t, "cat", "g", "bob", "ann")
	s.send(t, "cat", g, "group")
	s.recall(t, "ann", d, three.MessageID)
	s.CaughtUp(t)

	unread := func(user string) unreadAnswer {
		t.Helper()
		a := s.get(t, user, "/v1/unread")
		wantKeys(t, a.body, "total", "sessions")
		return decodeAs[unreadAnswer](t, a, http.StatusOK)
	}
	// Others' messages above readSeq, recalled ones excluded.
	if u := unread("bob"); u.Total != 3 || u.Sessions[d] != 2 || u.Sessions[g] != 1 {
		t.Fatalf("bob's unread = %+v, want 2 in %s and 1 in %s", u, d, g)
	}
	if u := unread("ann"); u.Total != 2 || u.Sessions[d] != 1 || u.Sessions[g] != 1 {
		t.Fatalf("ann's unread = %+v", u)
	}
	s.ack(t, "bob", d, 4, domain.AckRead)
	s.CaughtUp(t)
	if u := unread("bob"); u.Total != 1 || len(u.Sessions) != 1 || u.Sessions[g] != 1 {
		t.Fatalf("bob's unread after reading %s = %+v; sessions with nothing unread are left out", d, u)
	}
	if a := s.get(t, "zed", "/v1/unread"); strings.TrimSpace(string(a.body)) != `{"total":0,"sessions":{}}` {
		t.Fatalf("unread of a user with no sessions = %s", a.body)
	}
}
