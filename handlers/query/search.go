package query

import (
	"context"
	"fmt"

	"github.com/tellyou/tellyou/readmodels"
)

// Search returns a page of full-text search hits over the sessions the user
// (sq.UserID) is a current member of. A search narrowed to one session
// (sq.SessionID) is refused as the session's other reads are: not_found
// when the log knows no such session, forbidden when the user is not a
// member. Hits come from the search read model, which trails the log by the
// projection lag: a message sent a moment ago may not be found yet.
func (q *Queries) Search(ctx context.Context, sq readmodels.SearchQuery) (readmodels.SearchPage, error) {
	if sq.SessionID != "" {
		if err := q.CheckAccess(ctx, sq.UserID, sq.SessionID); err != nil {
			return readmodels.SearchPage{}, err
		}
	}
	page, err := q.rm.Search(ctx, sq)
	if err != nil {
		return readmodels.SearchPage{}, fmt.Errorf("search messages of %s: %w", sq.UserID, err)
	}
	return page, nil
}
