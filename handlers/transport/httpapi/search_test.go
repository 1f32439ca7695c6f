package httpapi_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

type (
	searchHit struct {
		SessionID       string  `json:"sessionId"`
		Seq             int64   `json:"seq"`
		MessageID       string  `json:"messageId"`
		SenderID        string  `json:"senderId"`
		ServerTimestamp int64   `json:"serverTimestamp"`
		Snippet         string  `json:"snippet"`
		Rank            float64 `json:"rank"`
	}
	searchAnswer struct {
		Results    []searchHit `json:"results"`
		NextBefore string      `json:"nextBefore"`
	}
)

func TestSearchFindsMembersMessagesAndPages(t *testing.T) {
	t.Parallel()
	s := newServer(t, serverOptions{})
	d := s.sendTo(t, "ann", "bob", "lunch at noon?")
	s.send(t, "bob", d.SessionID, "Lunch sounds good, lunch it is")
	gone := s.send(t, "ann", d.SessionID, "lunch secret")
	s.recall(t, "ann", d.SessionID, gone.MessageID)
	g := s.group(t, "cat", "g", "dan")
	s.send(t, "cat", g, "lunch for the group")
	s.CaughtUp(t)

	a := s.get(t, "bob", "/v1/search?q=lunch")
	wantKeys(t, a.body, "results")
	ans := decodeAs[searchAnswer](t, a, http.StatusOK)
	if len(ans.Results) != 2 || ans.NextBefore != "" {
		t.Fatalf("bob's search: %s", a.body)
	}
	raw := decodeAs[struct{ Results []json.RawMessage }](t, a, http.StatusOK)
	wantKeys(t, raw.Results[0], "sessionId", "seq", "messageId", "senderId", "serverTimestamp", "snippet", "rank")
	if r := ans.Results[0]; r.Seq != 2 || r.SenderID != "bob" || r.SessionID != d.SessionID || !strings.Contains(r.Snippet, "[[Lunch]]") {
		t.Errorf("best hit %+v, want bob's seq 2 with [[Lunch]] marked", r)
	}

	var seqs []int64
	path := "/v1/search?limit=1&q=" + url.QueryEscape("lunch")
	for page := 0; ; page++ {
		ans := decodeAs[searchAnswer](t, s.get(t, "bob", path), http.StatusOK)
		for _, r := range ans.Results {
			seqs = append(seqs, r.Seq)
		}
		if ans.NextBefore == "" || page > 5 {
			break
		}
		path = "/v1/search?limit=1&q=lunch&before=" + url.QueryEscape(ans.NextBefore)
	}
	if len(seqs) != 2 || seqs[0] == seqs[1] {
		t.Errorf("pages of one hit gave seqs %v, want 2 and 1", seqs)
	}

	a = s.get(t, "dan", "/v1/search?q=lunch&sessionId="+url.QueryEscape(g))
	if ans := decodeAs[searchAnswer](t, a, http.StatusOK); len(ans.Results) != 1 || ans.Results[0].SessionID != g {
		t.Errorf("dan's search in %s: %s", g, a.body)
	}
	if a := s.get(t, "dan", "/v1/search?q=lunch"); strings.Contains(string(a.body), d.SessionID) {
		t.Errorf("dan finds messages of a session he is not in: %s", a.body)
	}
	if a := s.get(t, "dan", "/v1/search?q=nothinglikethis"); strings.TrimSpace(string(a.body)) != `{"results":[]}` {
		t.Errorf("search without hits = %s", a.body)
	}
}

func TestSearchRefusals(t *testing.T) {
	t.Parallel()
	s := newServer(t, serverOptions{})
	d := s.sendTo(t, "ann", "bob", "hello")
	s.CaughtUp(t)
	wantError(t, s.get(t, "cat", "/v1/search?q=hello&sessionId="+url.QueryEscape(d.SessionID)), http.StatusForbidden, "forbidden")
	wantError(t, s.get(t, "cat", "/v1/search?q=hello&sessionId=g:00000000-0000-0000-0000-000000000000"), http.StatusNotFound, "not_found")
	for query, word := range map[string]string{
		"":                                     "q",
		"q=":                                   "q",
		"q=%20%20":                             "q",
		"q=" + strings.Repeat("x", 201):        "200",
		"q=hello&limit=0":                      "limit",
		"q=hello&limit=101":                    "limit",
		"q=hello&limit=x":                      "limit",
		"q=hello&before=nonsense":              "before",
		"q=hello&before=":                      "before",
		"q=hello&sessionId=":                   "sessionId",
		"q=hello&sessionId=" + "not-a-session": "session",
		"q=%zz":                                "query",
	} {
		wantError(t, s.get(t, "bob", "/v1/search?"+query), http.StatusBadRequest, "bad_request", word)
	}
	wantError(t, s.get(t, "", "/v1/search?q=hello"), http.StatusUnauthorized, "unauthorized")
}
