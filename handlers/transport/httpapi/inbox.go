package httpapi

import (
	"net/http"

	"github.com/tellyou/tellyou/handlers/transport/auth"
	"github.com/tellyou/tellyou/readmodels"
)

// inboxAnswer is the answer of GET /v1/inbox.
type inboxAnswer struct {
	Messages []readmodels.Message `json:"messages"`
}

// inbox answers GET /v1/inbox: the messages the user has not acked as
// received, across sessions, oldest first; limit from 1 to
// readmodels.MaxInboxLimit, default readmodels.DefaultInboxLimit.
func (a *API) inbox(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	q, err := parseQuery(r.URL.RawQuery)
	if err != nil {
		return err
	}
	limit, err := q.intIn("limit", 1, readmodels.MaxInboxLimit, readmodels.DefaultInboxLimit)
	if err != nil {
		return err
	}
	msgs, err := a.cfg.Queries.Inbox(r.Context(), p.UserID, limit)
	if err != nil {
		return err
	}
	if msgs == nil {
		msgs = []readmodels.Message{}
	}
	writeJSON(w, http.StatusOK, inboxAnswer{Messages: msgs})
	return nil
}

// unread answers GET /v1/unread: the user's unread counts per session (those
// with none left out) and their total.
func (a *API) unread(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	sum, err := a.cfg.Queries.Unread(r.Context(), p.UserID)
	if err != nil {
		return err
	}
	if sum.Sessions == nil {
		sum.Sessions = map[string]int64{}
	}
	writeJSON(w, http.StatusOK, sum)
	return nil
}
