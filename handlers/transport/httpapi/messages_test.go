package httpapi_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"
)

func TestMessagesPages(t *testing.T) {
	t.Parallel()
	s := newServer(t, serverOptions{})
	first := s.sendTo(t, "ann", "bob", "m1")
	d := first.SessionID
	for _, c := range []string{"m2", "m3", "m4"} {
		s.send(t, "ann", d, c)
	}
	s.send(t, "bob", d, "m5")
	s.CaughtUp(t)
	base := "/v1/sessions/" + d + "/messages"

	pages := []struct {
		query   string
		seqs    []int64
		hasMore bool
	}{
		{"", []int64{1, 2, 3, 4, 5}, false},
		{"?limit=2", []int64{1, 2}, true},
		{"?afterSeq=2&limit=2", []int64{3, 4}, true},
		{"?afterSeq=4&limit=2", []int64{5}, false},
		{"?afterSeq=5", []int64{}, false},
		{"?afterSeq=0&limit=5", []int64{1, 2, 3, 4, 5}, false},
		{"?beforeSeq=6&limit=2", []int64{4, 5}, true},
		{"?beforeSeq=5&limit=2", []int64{3, 4}, true},
		{"?beforeSeq=3&limit=2", []int64{1, 2}, false},
		{"?beforeSeq=1", []int64{}, false},
		{"?afterSeq=1&beforeSeq=5", []int64{2, 3, 4}, false},
		{"?afterSeq=1&beforeSeq=5&limit=2", []int64{3, 4}, true},
		{"?limit=200", []int64{1, 2, 3, 4, 5}, false},
		{"?afterSeq=9223372036854775807", []int64{}, false},
		{"?markRead=false&limit=1", []int64{1}, true},
	}
	for _, p := range pages {
		a := s.get(t, "bob", base+p.query)
		page := decodeAs[messagePage](t, a, http.StatusOK)
		if got := seqs(page.Messages); !slices.Equal(got, p.seqs) || page.HasMore != p.hasMore || page.LastSeq != 5 {
			t.Errorf("%s: seqs %v hasMore %v lastSeq %d; want %v %v 5", p.query, got, page.HasMore, page.LastSeq, p.seqs, p.hasMore)
		}
		if page.Messages == nil {
			t.Errorf("%s: messages is null, want a list: %s", p.query, a.body)
		}
	}

	a := s.get(t, "ann", base+"?limit=1")
	wantKeys(t, a.body, "messages", "lastSeq", "hasMore")
	m := decodeAs[messagePage](t, a, http.StatusOK).Messages[0]
	if m.MessageID != first.MessageID || m.SessionID != d || m.Seq != 1 || m.SenderID != "ann" || m.MessageType != 1 ||
		m.Content != "m1" || m.ClientMessageID == "" || m.ServerTimestamp == 0 || m.AdjustedTimestamp == 0 || m.Recalled {
		t.Fatalf("first message = %+v", m)
	}
	if !strings.Contains(string(a.body), `"ext":null`) {
		t.Fatalf("a message without ext should carry \"ext\":null: %s", a.body)
	}
	// The history of the markRead=false pull above did not move bob's watermark.
	if list := decodeAs[sessionList](t, s.get(t, "bob", "/v1/sessions"), http.StatusOK); list.Sessions[0].ReadSeq != 0 {
		t.Fatalf("readSeq moved without markRead: %+v", list.Sessions[0])
	}
}

func TestMessagesMarkRead(t *testing.T) {
	t.Parallel()
	s := newServer(t, serverOptions{})
	d := s.sendTo(t, "ann", "bob", "one").SessionID
	s.send(t, "ann", d, "two")
	s.send(t, "ann", d, "three")
	s.CaughtUp(t)
	base := "/v1/sessions/" + d + "/messages"

	page := decodeAs[messagePage](t, s.get(t, "bob", base+"?limit=2&markRead=true"), http.StatusOK)
	if got := seqs(page.Messages); !slices.Equal(got, []int64{1, 2}) {
		t.Fatalf("pull = %v", got)
	}
	s.CaughtUp(t)
	entry := decodeAs[sessionList](t, s.get(t, "bob", "/v1/sessions"), http.StatusOK).Sessions[0]
	// Read implies received.
	if entry.ReadSeq != 2 || entry.ReceivedSeq != 2 || entry.UnreadCount != 1 {
		t.Fatalf("after reading up to 2: %+v", entry)
	}
	if u := decodeAs[unreadAnswer](t, s.get(t, "bob", "/v1/unread"), http.StatusOK); u.Total != 1 || u.Sessions[d] != 1 {
		t.Fatalf("unread after reading up to 2 = %+v", u)
	}
	// A backward page marks read up to its last (newest) message.
	decodeAs[messagePage](t, s.get(t, "bob", base+"?beforeSeq=4&limit=1&markRead=1"), http.StatusOK)
	// Paging old history never moves the watermark back, and an empty page marks nothing.
	decodeAs[messagePage](t, s.get(t, "bob", base+"?limit=1&markRead=true"), http.StatusOK)
	decodeAs[messagePage](t, s.get(t, "bob", base+"?afterSeq=3&markRead=true"), http.StatusOK)
	s.CaughtUp(t)
	entry = decodeAs[sessionList](t, s.get(t, "bob", "/v1/sessions"), http.StatusOK).Sessions[0]
	if entry.ReadSeq != 3 || entry.UnreadCount != 0 {
		t.Fatalf("after reading everything: %+v", entry)
	}
	if u := decodeAs[unreadAnswer](t, s.get(t, "bob", "/v1/unread"), http.StatusOK); u.Total != 0 || len(u.Sessions) != 0 {
		t.Fatalf("unread after reading everything = %+v", u)
	}
}

func TestMessagesRefusals(t *testing.T) {
	t.Parallel()
	s := newServer(t, serverOptions{})
	d := s.sendTo(t, "ann", "bob", "private").SessionID
	base := "/v1/sessions/" + d + "/messages"

	wantError(t, s.get(t, "carl", base), http.StatusForbidden, "forbidden")
	wantError(t, s.get(t, "carl", base+"?markRead=true"), http.StatusForbidden, "forbidden")
	wantError(t, s.get(t, "ann", "/v1/sessions/d:ann:zed/messages"), http.StatusNotFound, "not_found")
	wantError(t, s.get(t, "ann", "/v1/sessions/g:5f0c7e3e-6d1a-4c1e-9a51-0d6f3a6a1b2c/messages"), http.StatusNotFound, "not_found")
	wantError(t, s.get(t, "ann", "/v1/sessions/nonsense/messages"), http.StatusBadRequest, "bad_request", "session id")

	bad := []struct{ query, param string }{
		{"afterSeq=abc", "afterSeq"},
		{"afterSeq=-1", "afterSeq"},
		{"afterSeq=1.5", "afterSeq"},
		{"afterSeq=", "afterSeq"},
		{"afterSeq=1e3", "afterSeq"},
		{"afterSeq=99999999999999999999", "afterSeq"},
		{"afterSeq=%201", "afterSeq"},
		{"beforeSeq=0", "beforeSeq"},
		{"beforeSeq=-3", "beforeSeq"},
		{"beforeSeq=x", "beforeSeq"},
		{"limit=0", "limit"},
		{"limit=-1", "limit"},
		{"limit=201", "limit"},
		{"limit=ten", "limit"},
		{"limit=99999999999999999999", "limit"},
		{"markRead=maybe", "markRead"},
		{"markRead=", "markRead"},
		{"afterSeq=%zz", "query"},
	}
	for _, b := range bad {
		t.Run(b.query, func(t *testing.T) {
			wantError(t, s.get(t, "bob", base+"?"+b.query), http.StatusBadRequest, "bad_request", b.param)
		})
	}
}
