package httpapi

import (
	"net/http"

	"github.com/tellyou/tellyou/handlers/transport/auth"
	"github.com/tellyou/tellyou/handlers/transport/wire"
	"github.com/tellyou/tellyou/readmodels"
)

// searchAnswer is the answer of GET /v1/search.
type searchAnswer struct {
	Results []readmodels.SearchHit `json:"results"`
	// NextBefore is the cursor of the next page, left out on the last one.
	NextBefore string `json:"nextBefore,omitempty"`
}

// search answers GET /v1/search: full-text search over the messages of the
// user's sessions (q, 1 to readmodels.MaxSearchQueryChars characters;
// sessionId narrows it to one session; limit from 1 to
// readmodels.MaxSearchLimit, default readmodels.DefaultSearchLimit; before,
// the nextBefore of the page before).
func (a *API) search(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	q, err := parseQuery(r.URL.RawQuery)
	if err != nil {
		return err
	}
	sq := readmodels.SearchQuery{UserID: p.UserID, Text: q.values.Get("q")}
	if err := readmodels.CheckSearchText(sq.Text); err != nil {
		return wire.BadRequest(err.Error())
	}
	if sq.Limit, err = q.intIn("limit", 1, readmodels.MaxSearchLimit, readmodels.DefaultSearchLimit); err != nil {
		return err
	}
	if vals, ok := q.values["sessionId"]; ok {
		if vals[0] == "" {
			return wire.BadRequest("sessionId must not be empty")
		}
		sq.SessionID = vals[0]
	}
	if vals, ok := q.values["before"]; ok {
		c, err := readmodels.ParseSearchCursor(vals[0])
		if err != nil {
			return wire.BadRequest("before must be the nextBefore of an earlier answer")
		}
		sq.After = &c
	}
	page, err := a.cfg.Queries.Search(r.Context(), sq)
	if err != nil {
		return err
	}
	ans := searchAnswer{Results: page.Hits}
	if ans.Results == nil {
		ans.Results = []readmodels.SearchHit{}
	}
	if page.Next != nil {
		ans.NextBefore = page.Next.String()
	}
	writeJSON(w, http.StatusOK, ans)
	return nil
}
