package httpapi

import (
	"math"
	"net/http"

	"github.com/tellyou/tellyou/handlers/query"
	"github.com/tellyou/tellyou/handlers/transport/auth"
	"github.com/tellyou/tellyou/handlers/transport/wire"
	"github.com/tellyou/tellyou/readmodels"
)

// messages answers GET /v1/sessions/{id}/messages: a page of history in
// ascending seq order, forward from afterSeq (default 0) or back from
// beforeSeq, limit messages (default readmodels.DefaultPageLimit, 1 to
// readmodels.MaxPageLimit); markRead=true also moves the user's read
// watermark to the last returned seq. replyTo=<messageId> pages the replies
// to that message the same way (without markRead).
func (a *API) messages(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	q, err := parseQuery(r.URL.RawQuery)
	if err != nil {
		return err
	}
	var page readmodels.PageQuery
	if page.AfterSeq, err = q.int64In("afterSeq", 0, math.MaxInt64, 0); err != nil {
		return err
	}
	if page.BeforeSeq, err = q.int64In("beforeSeq", 1, math.MaxInt64, 0); err != nil {
		return err
	}
	if page.Limit, err = q.intIn("limit", 1, readmodels.MaxPageLimit, readmodels.DefaultPageLimit); err != nil {
		return err
	}
	if page.ReplyTo, err = q.uuid("replyTo"); err != nil {
		return err
	}
	markRead, err := q.boolean("markRead")
	if err != nil {
		return err
	}
	if markRead && page.ReplyTo != "" {
		// The read watermark is a seq: a thread's last reply would mark
		// every message below it read, the thread's or not.
		return wire.BadRequest("markRead cannot be used with replyTo")
	}
	result, err := a.cfg.Queries.Messages(r.Context(), query.MessagesQuery{
		Meta: a.requestMeta(r, p), SessionID: r.PathValue("id"), Page: page, MarkRead: markRead,
	})
	if err != nil {
		return err
	}
	if result.Messages == nil {
		result.Messages = []readmodels.Message{}
	}
	writeJSON(w, http.StatusOK, result)
	return nil
}
