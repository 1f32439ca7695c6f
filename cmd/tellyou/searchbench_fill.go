package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"
)

// searchCorpus generates the messages of the search benchmark: many
// sessions of skewed sizes, words of a Zipf-distributed vocabulary plus a
// few very common ones, and one user (searchBenchUser) who is a member of
// some of the sessions, a few of them among the busiest.
type searchCorpus struct {
	messages, sessions, memberOf int
	seed                         uint64

	common []string
	vocab  []string
}

// messageSpacing is the server time between two messages, in ms: a
// million messages span a year.
const messageSpacing = 31_536

// searchBenchUser is the user whose searches are timed.
const searchBenchUser = "bench-searcher"

// commonWords appear in a large share of the messages.
var commonWords = []string{"the", "and", "you", "to", "is", "ok", "we", "it", "for", "meeting",
	"today", "tomorrow", "thanks", "please", "yes", "no", "what", "when", "can", "will"}

func newSearchCorpus(messages, sessions, memberOf int, seed uint64) *searchCorpus {
	c := &searchCorpus{messages: messages, sessions: sessions, memberOf: memberOf, seed: seed, common: commonWords}
	syllables := []string{"ka", "lo", "mi", "ne", "ru", "ta", "shi", "po", "ve", "dan", "mor", "sel", "ti", "qua", "zen", "bri", "lu", "fa"}
	rng := rand.New(rand.NewPCG(seed, 1))
	seen := map[string]bool{}
	for len(c.vocab) < 50000 {
		var sb strings.Builder
		for range 2 + rng.IntN(3) {
			sb.WriteString(syllables[rng.IntN(len(syllables))])
		}
		if w := sb.String(); !seen[w] {
			seen[w] = true
			c.vocab = append(c.vocab, w)
		}
	}
	return c
}

func (c *searchCorpus) sessionID(i int) string { return fmt.Sprintf("g:bench-%06d", i) }

// userSessions returns the sessions searchBenchUser is a member of: the
// five busiest (the Zipf draw makes the lowest numbers busiest) and others
// spread over the rest.
func (c *searchCorpus) userSessions() []int {
	rng := rand.New(rand.NewPCG(c.seed, 2))
	picked := map[int]bool{}
	var out []int
	for i := 0; i < min(5, c.memberOf); i++ {
		picked[i*3] = true
		out = append(out, i*3)
	}
	for len(out) < min(c.memberOf, c.sessions) {
		if s := rng.IntN(c.sessions); !picked[s] {
			picked[s] = true
			out = append(out, s)
		}
	}
	return out
}

// fill writes the corpus with COPY straight into rm_search, rm_sessions and
// rm_members (not through the event log: the log is not what is measured),
// then analyzes the tables. It reports the messages searchBenchUser can see.
func (c *searchCorpus) fill(ctx context.Context, pool *pgxpool.Pool, progress func(string)) (visible int, err error) {
	rng := rand.New(rand.NewPCG(c.seed, 3))
	sessionZipf := rand.NewZipf(rng, 1.1, 1, uint64(c.sessions-1))
	wordZipf := rand.NewZipf(rng, 1.07, 1, uint64(len(c.vocab)-1))
	mine := map[int]bool{}
	for _, s := range c.userSessions() {
		mine[s] = true
	}
	seqs, lastTs := make([]int64, c.sessions), make([]int64, c.sessions)
	const baseTs = int64(1_700_000_000_000)
	var sb strings.Builder
	row := make([]any, 6)
	i := 0
	source := pgx.CopyFromFunc(func() ([]any, error) {
		if i == c.messages {
			return nil, nil
		}
		var s int
		if rng.IntN(10) < 3 {
			s = int(sessionZipf.Uint64())
		} else {
			s = rng.IntN(c.sessions)
		}
		seqs[s]++
		if mine[s] {
			visible++
		}
		sb.Reset()
		for w := range 3 + rng.IntN(20) {
			if w > 0 {
				sb.WriteByte(' ')
			}
			if rng.IntN(3) == 0 {
				sb.WriteString(c.common[rng.IntN(len(c.common))])
			} else {
				sb.WriteString(c.vocab[wordZipf.Uint64()])
			}
		}
		id := uuid.New()
		row[0], row[1], row[2] = c.sessionID(s), seqs[s], pgtype.UUID{Bytes: id, Valid: true}
		lastTs[s] = baseTs + int64(i)*messageSpacing
		row[3], row[4], row[5] = fmt.Sprintf("user-%d", rng.IntN(5000)), lastTs[s], sb.String()
		i++
		if i%100000 == 0 {
			progress(fmt.Sprintf("%d messages written", i))
		}
		return row, nil
	})
	if _, err := pool.CopyFrom(ctx, pgx.Identifier{"rm_search"},
		[]string{"session_id", "seq", "message_id", "sender_id", "server_ts", "body"}, source); err != nil {
		return 0, fmt.Errorf("copy messages: %w", err)
	}
	if _, err := pool.CopyFrom(ctx, pgx.Identifier{"rm_sessions"},
		[]string{"session_id", "kind", "title", "owner", "created_at", "last_seq", "last_activity"},
		pgx.CopyFromSlice(c.sessions, func(s int) ([]any, error) {
			return []any{c.sessionID(s), "group", "bench", "user-0", baseTs, seqs[s], max(baseTs, lastTs[s])}, nil
		})); err != nil {
		return 0, fmt.Errorf("copy sessions: %w", err)
	}
	// Every session has 4 members; searchBenchUser is a fifth in theirs.
	var members [][]any
	for s := range c.sessions {
		for m := range 4 {
			members = append(members, []any{c.sessionID(s), fmt.Sprintf("user-%d", (s*4+m)%5000)})
		}
		if mine[s] {
			members = append(members, []any{c.sessionID(s), searchBenchUser})
		}
	}
	if _, err := pool.CopyFrom(ctx, pgx.Identifier{"rm_members"}, []string{"session_id", "user_id"},
		pgx.CopyFromRows(members)); err != nil {
		return 0, fmt.Errorf("copy members: %w", err)
	}
	if _, err := pool.Exec(ctx, `VACUUM ANALYZE rm_search, rm_sessions, rm_members`); err != nil {
		return 0, fmt.Errorf("analyze: %w", err)
	}
	return visible, nil
}
