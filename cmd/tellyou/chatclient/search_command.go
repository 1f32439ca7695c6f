package chatclient

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// searchLimit is how many hits /search shows.
const searchLimit = 10

// searchHit is one hit of GET /v1/search.
type searchHit struct {
	SessionID string  `json:"sessionId"`
	Seq       int64   `json:"seq"`
	MessageID string  `json:"messageId"`
	SenderID  string  `json:"senderId"`
	Snippet   string  `json:"snippet"`
	Rank      float64 `json:"rank"`
}

// search returns the best hits of words across the user's sessions.
func (a *api) search(ctx context.Context, words string, limit int) ([]searchHit, error) {
	q := url.Values{"q": {words}, "limit": {strconv.Itoa(limit)}}
	var answer struct {
		Results []searchHit `json:"results"`
	}
	if err := a.do(ctx, http.MethodGet, "/v1/search?"+q.Encode(), nil, http.StatusOK, &answer); err != nil {
		return nil, fmt.Errorf("search %q: %w", words, err)
	}
	return answer.Results, nil
}

// snippetMarks turns the server's marks around matched words into the
// terminal's: *word*.
var snippetMarks = strings.NewReplacer("[[", "*", "]]", "*")

// search shows the messages of the user's sessions that match words, best
// first, each with its session's label, sender, seq and a snippet.
func (c *Client) search(ctx context.Context, words string) error {
	if _, err := c.refresh(ctx); err != nil { // labels for the sessions found
		return err
	}
	hits, err := c.api.search(ctx, words, searchLimit)
	if err != nil {
		return err
	}
	if len(hits) == 0 {
		c.out.printf("--- search %s: no messages match ---", words)
		return nil
	}
	var b strings.Builder
	fmt.Fprintf(&b, "--- search %s: %d best matches ---", words, len(hits))
	for _, h := range hits {
		fmt.Fprintf(&b, "\n[%s] #%d %s: %s", c.tl.Label(h.SessionID), h.Seq, h.SenderID, snippetMarks.Replace(h.Snippet))
	}
	c.out.printf("%s", b.String())
	return nil
}
