package readmodels

import (
	"context"
	"fmt"
	"math"
	"strings"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
)

// Limits of Search.
const (
	DefaultSearchLimit = 20
	MaxSearchLimit     = 100
	// MaxSearchQueryChars bounds the text of a search, in characters.
	MaxSearchQueryChars = 200
	// SnippetStart and SnippetStop enclose each matched word of a hit's
	// snippet.
	SnippetStart = "[["
	SnippetStop  = "]]"
)

// SearchQuery is one page of a full-text search.
type SearchQuery struct {
	// UserID is who searches: only sessions they are a current member of
	// are searched.
	UserID string
	// Text is what to look for, in web search syntax (words, "a phrase",
	// -excluded, or): websearch_to_tsquery never refuses it.
	Text string
	// SessionID, when not empty, narrows the search to that session.
	SessionID string
	// Limit is the page size: DefaultSearchLimit when 0 or negative, at most
	// MaxSearchLimit.
	Limit int
	// After is the cursor of the page before, nil for the first page.
	After *SearchCursor
}

// SearchHit is one message that matches.
type SearchHit struct {
	SessionID       string `json:"sessionId"`
	Seq             int64  `json:"seq"`
	MessageID       string `json:"messageId"`
	SenderID        string `json:"senderId"`
	ServerTimestamp int64  `json:"serverTimestamp"`
	// Snippet is a short part of the message's latest text around its
	// matches, each matched word enclosed in SnippetStart and SnippetStop.
	Snippet string `json:"snippet"`
	// Rank is ts_rank's relevance of the message to the query: higher is
	// better.
	Rank float32 `json:"rank"`
}

// SearchPage is a page of hits, best first.
type SearchPage struct {
	Hits []SearchHit
	// Next is the cursor of the next page, nil when this one is the last.
	Next *SearchCursor
}

// searchTiers are the recency tiers of a search, as spans back from the
// latest activity among the searched sessions: hits of the last day come
// first, ranked among themselves, then those of the six days before, and so
// on; the last tier holds everything older than a year.
var searchTiers = []int64{
	24 * 3600 * 1000,
	7 * 24 * 3600 * 1000,
	30 * 24 * 3600 * 1000,
	90 * 24 * 3600 * 1000,
	365 * 24 * 3600 * 1000,
}

// searchSQL selects the best hits of one tier ($3 <= server_ts < $4) in the
// sessions $1, after the cursor when %[2]s adds it; ts_rank runs for the
// tier's matches only, and ts_headline for the returned ones only. %[1]s is
// where the tier's rows come from: searchRecent or searchIndexed.
const searchSQL = `
SELECT p.session_id, p.seq, p.message_id::text, p.sender_id, p.server_ts, p.rank,
       ts_headline('simple', p.body, websearch_to_tsquery('simple', $2),
           'StartSel="` + SnippetStart + `", StopSel="` + SnippetStop + `", MaxWords=24, MinWords=12, ShortWord=0, MaxFragments=2, FragmentDelimiter=" … "')
FROM (
    SELECT s.session_id, s.seq, s.message_id, s.sender_id, s.server_ts, s.body,
           ts_rank(s.tsv, websearch_to_tsquery('simple', $2)) AS rank
    FROM %[1]s AS s
    WHERE s.tsv @@ websearch_to_tsquery('simple', $2)
) p
%[2]s
ORDER BY p.rank DESC, p.server_ts DESC, p.session_id DESC, p.seq DESC
LIMIT $5`

// The rows of a tier. A recent tier (the last day, the last week) holds few of a
// session's messages: reading them all through the (session_id,
// server_ts) index and testing each is cheap and bounded whatever the
// words, where the GIN index would read every posting of a common word in
// the whole table (OFFSET 0 keeps the planner from merging the two). The
// older tiers leave the choice to the planner, which takes the GIN index
// for rare words.
const (
	searchRecent = `(SELECT * FROM rm_search r
        WHERE r.session_id = ANY($1::text[]) AND r.server_ts >= $3 AND r.server_ts < $4 OFFSET 0)`
	searchIndexed = `(SELECT * FROM rm_search r
        WHERE r.session_id = ANY($1::text[]) AND r.server_ts >= $3 AND r.server_ts < $4
          AND r.tsv @@ websearch_to_tsquery('simple', $2))`
	// searchRecentTiers is how many tiers are read as recent ones: with
	// the month too, `tellyou searchbench`'s phrases and pairs of words got
	// slower (p95 148 ms against 82 ms), as a month of a busy user's
	// sessions is many rows to test.
	searchRecentTiers = 2
)

// searchAfter is the cursor's condition in searchSQL.
const searchAfter = `WHERE (p.rank, p.server_ts, p.session_id, p.seq) < ($6::real, $7, $8, $9)`

// Search returns a page of the messages matching q.Text in the sessions
// q.UserID is a current member of (only q.SessionID when set). Recalled
// messages never match; an edited message matches its latest text only.
//
// Hits come by recency tier, then by rank: the tiers are the last day, the
// week, the month, the three months and the year before the latest activity
// among the searched sessions (as the first page found it), then everything
// older; within a tier, hits are ordered by ts_rank, best first, then newest
// first. A search therefore never ranks every match of a common word: the
// first pages rank the matches of the recent tiers only, and a tier is
// ranked only when the pages reach it. Messages arriving while a client
// pages fall in the first tier; the pages of one search neither repeat nor
// skip a hit of the tiers they have not passed yet.
//
// A Text that is empty, only spaces or longer than MaxSearchQueryChars is
// refused with a *SearchTextError; one with no word in it (punctuation
// only) matches nothing. Search does not tell a session that does not exist
// from one the user is not a member of: both have no hits. That check is the
// caller's.
func (q *Queries) Search(ctx context.Context, sq SearchQuery) (SearchPage, error) {
	if err := CheckSearchText(sq.Text); err != nil {
		return SearchPage{}, err
	}
	limit := clamp(sq.Limit, DefaultSearchLimit, MaxSearchLimit)
	sessions, newest, err := q.searchedSessions(ctx, sq)
	if err != nil || len(sessions) == 0 {
		return SearchPage{Hits: []SearchHit{}}, err
	}
	cur := sq.After
	tier := 0
	if cur != nil {
		newest, tier = cur.Newest, cur.Tier
	}
	page := SearchPage{Hits: []SearchHit{}}
	for ; tier <= len(searchTiers); tier, cur = tier+1, nil {
		lo, hi := tierBounds(newest, tier)
		args := []any{sessions, sq.Text, lo, hi, limit + 1 - len(page.Hits)}
		after := ""
		if cur != nil && cur.Last != nil {
			after = searchAfter
			args = append(args, cur.Last.Rank, cur.Last.ServerTs, cur.Last.SessionID, cur.Last.Seq)
		}
		from := searchIndexed
		if tier < searchRecentTiers {
			from = searchRecent
		}
		hits, err := q.searchTier(ctx, fmt.Sprintf(searchSQL, from, after), args)
		if err != nil {
			return SearchPage{}, fmt.Errorf("search for %s: %w", sq.UserID, err)
		}
		page.Hits = append(page.Hits, hits...)
		switch {
		case len(page.Hits) > limit:
			// The tier holds more: the next page goes on in it, after the
			// page's last hit if that is the tier's, else from its start.
			page.Hits = page.Hits[:limit]
			page.Next = &SearchCursor{Newest: newest, Tier: tier}
			if len(hits) > 1 {
				last := page.Hits[limit-1]
				page.Next.Last = &SearchKey{Rank: last.Rank, ServerTs: last.ServerTimestamp,
					SessionID: last.SessionID, Seq: last.Seq}
			}
			return page, nil
		case len(page.Hits) == limit && tier < len(searchTiers):
			// Full, with the tier done: older tiers are left to the next
			// page, which may find nothing.
			page.Next = &SearchCursor{Newest: newest, Tier: tier + 1}
			return page, nil
		}
	}
	return page, nil
}

// tierBounds returns the server times [lo, hi) of a tier.
func tierBounds(newest int64, tier int) (lo, hi int64) {
	lo, hi = math.MinInt64, math.MaxInt64
	if tier > 0 {
		hi = newest - searchTiers[tier-1]
	}
	if tier < len(searchTiers) {
		lo = newest - searchTiers[tier]
	}
	return lo, hi
}

// searchedSessions returns the sessions a search covers, and the latest
// activity among them.
func (q *Queries) searchedSessions(ctx context.Context, sq SearchQuery) ([]string, int64, error) {
	sql := `SELECT m.session_id, coalesce(s.last_activity, 0) FROM rm_members m
		LEFT JOIN rm_sessions s ON s.session_id = m.session_id WHERE m.user_id = $1`
	args := []any{sq.UserID}
	if sq.SessionID != "" {
		sql += ` AND m.session_id = $2`
		args = append(args, sq.SessionID)
	}
	rows, err := q.pool.Query(ctx, sql, args...)
	if err != nil {
		return nil, 0, fmt.Errorf("sessions %s searches: %w", sq.UserID, err)
	}
	defer rows.Close()
	var sessions []string
	var newest int64
	for rows.Next() {
		var id string
		var at int64
		if err := rows.Scan(&id, &at); err != nil {
			return nil, 0, fmt.Errorf("sessions %s searches: %w", sq.UserID, err)
		}
		sessions, newest = append(sessions, id), max(newest, at)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("sessions %s searches: %w", sq.UserID, err)
	}
	return sessions, newest, nil
}

// searchTier runs searchSQL. It is planned for its arguments each time
// (an unnamed statement, never a cached generic plan): which index serves
// best depends on how common the words are and how long the tier is.
func (q *Queries) searchTier(ctx context.Context, sql string, args []any) ([]SearchHit, error) {
	rows, err := q.pool.Query(ctx, sql, append([]any{pgx.QueryExecModeExec}, args...)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var hits []SearchHit
	for rows.Next() {
		var h SearchHit
		if err := rows.Scan(&h.SessionID, &h.Seq, &h.MessageID, &h.SenderID, &h.ServerTimestamp, &h.Rank, &h.Snippet); err != nil {
			return nil, err
		}
		hits = append(hits, h)
	}
	return hits, rows.Err()
}

// CheckSearchText refuses a search text that is empty, only white space, or
// longer than MaxSearchQueryChars; the error says which.
func CheckSearchText(text string) error {
	switch {
	case strings.TrimSpace(text) == "":
		return &SearchTextError{Reason: "q must not be empty"}
	case !utf8.ValidString(text):
		return &SearchTextError{Reason: "q must be UTF-8 text"}
	case utf8.RuneCountInString(text) > MaxSearchQueryChars:
		return &SearchTextError{Reason: fmt.Sprintf("q must be at most %d characters", MaxSearchQueryChars)}
	case strings.IndexByte(text, 0) >= 0:
		return &SearchTextError{Reason: "q must not hold U+0000"}
	}
	return nil
}

// SearchTextError is the error of a search text Search refuses.
type SearchTextError struct{ Reason string }

func (e *SearchTextError) Error() string { return e.Reason }

var _ error = (*SearchTextError)(nil)
