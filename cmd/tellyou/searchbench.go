package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tellyou/tellyou/readmodels"
)

// searchBenchCmd times full-text searches (readmodels.Queries.Search) over
// a database holding many messages. With --fill it first writes them into
// the read models of TELLYOU_DATABASE_URL, which must hold no messages yet:
// point it at a database of its own. Without --fill it searches what an
// earlier --fill wrote.
func searchBenchCmd(ctx context.Context, cfg config, logger *slog.Logger, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("searchbench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fill := fs.Bool("fill", false, "first write the messages (the database's rm_search must be empty)")
	messages := fs.Int("messages", 1_000_000, "messages to write with --fill")
	sessions := fs.Int("sessions", 20_000, "sessions to spread them over with --fill")
	memberOf := fs.Int("member-of", 50, "sessions the searching user is a member of, with --fill")
	searches := fs.Int("searches", 500, "searches to time, spread over the kinds")
	seed := fs.Uint64("seed", 1, "seed of the generated corpus and of the searches")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("searchbench: unexpected arguments %q", fs.Args())
	}
	if *messages < 1 || *sessions < *memberOf || *memberOf < 1 || *searches < 1 {
		return fmt.Errorf("searchbench: need messages >= 1, member-of >= 1, sessions >= member-of and searches >= 1")
	}
	pool, err := openDatabase(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer pool.Close()
	corpus := newSearchCorpus(*messages, *sessions, *memberOf, *seed)
	var count int64
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM rm_search`).Scan(&count); err != nil {
		return fmt.Errorf("searchbench: count messages: %w", err)
	}
	switch {
	case *fill && count > 0:
		return fmt.Errorf("searchbench: --fill needs an empty rm_search; %s holds %d messages", redact(cfg.DatabaseURL), count)
	case *fill:
		start := time.Now()
		visible, err := corpus.fill(ctx, pool, func(s string) { logger.Info("searchbench fill", "progress", s) })
		if err != nil {
			return fmt.Errorf("searchbench: fill: %w", err)
		}
		fmt.Fprintf(stdout, "filled %d messages in %d sessions in %v; %s is a member of %d sessions holding %d messages\n",
			*messages, *sessions, time.Since(start).Round(time.Second), searchBenchUser, *memberOf, visible)
	case count == 0:
		return fmt.Errorf("searchbench: no messages to search: run with --fill first")
	}
	return runSearchBench(ctx, pool, corpus, *searches, stdout)
}

// searchKind is one kind of timed search.
type searchKind struct {
	name string
	// next returns the query of the i-th search of the kind.
	next func(i int) readmodels.SearchQuery
	// secondPage asks the page after the first instead.
	secondPage bool
}

// runSearchBench times searches of every kind, round robin, and prints their
// latency percentiles.
func runSearchBench(ctx context.Context, pool *pgxpool.Pool, corpus *searchCorpus, n int, out io.Writer) error {
	q := readmodels.New(pool)
	samples, mine, err := visibleSample(ctx, pool)
	if err != nil {
		return err
	}
	rank := map[string]int{}
	for i, w := range corpus.vocab {
		rank[w] = i
	}
	rng := rand.New(rand.NewPCG(corpus.seed, 4))
	pick := func() []string { return strings.Fields(samples[rng.IntN(len(samples))]) }
	user := func(text string) readmodels.SearchQuery {
		return readmodels.SearchQuery{UserID: searchBenchUser, Text: text}
	}
	kinds := []searchKind{
		{name: "rare word", next: func(int) readmodels.SearchQuery {
			// The rarest word of a message the user can see.
			words, best := pick(), ""
			for _, w := range words {
				if r, ok := rank[w]; ok && (best == "" || r > rank[best]) {
					best = w
				}
			}
			if best == "" {
				best = words[0]
			}
			return user(best)
		}},
		{name: "common word", next: func(i int) readmodels.SearchQuery { return user(commonWords[i%len(commonWords)]) }},
		{name: "two words", next: func(i int) readmodels.SearchQuery {
			return user(commonWords[i%len(commonWords)] + " " + corpus.vocab[rng.IntN(200)])
		}},
		{name: "phrase", next: func(int) readmodels.SearchQuery {
			words := pick()
			j := rng.IntN(max(1, len(words)-1))
			return user(`"` + strings.Join(words[j:min(j+2, len(words))], " ") + `"`)
		}},
		{name: "one session", next: func(i int) readmodels.SearchQuery {
			sq := user(corpus.vocab[rng.IntN(50)])
			sq.SessionID = mine[i%len(mine)]
			return sq
		}},
		{name: "common, page 2", secondPage: true, next: func(i int) readmodels.SearchQuery {
			return user(commonWords[(i+7)%len(commonWords)])
		}},
	}
	times := make([][]time.Duration, len(kinds))
	hits := make([]int, len(kinds))
	var all []time.Duration
	for i := range n {
		k := i % len(kinds)
		sq := kinds[k].next(i / len(kinds))
		if kinds[k].secondPage {
			first, err := q.Search(ctx, sq)
			if err != nil {
				return fmt.Errorf("searchbench: %s %q: %w", kinds[k].name, sq.Text, err)
			}
			sq.After = first.Next
		}
		start := time.Now()
		page, err := q.Search(ctx, sq)
		took := time.Since(start)
		if err != nil {
			return fmt.Errorf("searchbench: %s %q: %w", kinds[k].name, sq.Text, err)
		}
		times[k] = append(times[k], took)
		all = append(all, took)
		hits[k] += len(page.Hits)
	}
	fmt.Fprintf(out, "%-16s %8s %8s %8s %8s %8s %10s\n", "kind", "searches", "p50", "p95", "p99", "max", "hits/page")
	for k, kind := range kinds {
		printPercentiles(out, kind.name, times[k], float64(hits[k])/float64(max(1, len(times[k]))))
	}
	printPercentiles(out, "all", all, -1)
	return nil
}

// visibleSample returns the text of up to 2,000 messages searchBenchUser can
// see, and their sessions.
func visibleSample(ctx context.Context, pool *pgxpool.Pool) ([]string, []string, error) {
	rows, err := pool.Query(ctx, `SELECT session_id FROM rm_members WHERE user_id = $1 ORDER BY session_id`, searchBenchUser)
	if err != nil {
		return nil, nil, fmt.Errorf("searchbench: sessions of %s: %w", searchBenchUser, err)
	}
	mine, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil || len(mine) == 0 {
		return nil, nil, fmt.Errorf("searchbench: %s is a member of no session (%v): fill the database with --fill", searchBenchUser, err)
	}
	rows, err = pool.Query(ctx, `SELECT body FROM rm_search TABLESAMPLE SYSTEM (5)
		WHERE session_id = ANY($1) AND body <> '' LIMIT 2000`, mine)
	if err != nil {
		return nil, nil, fmt.Errorf("searchbench: sample messages: %w", err)
	}
	samples, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil || len(samples) == 0 {
		return nil, nil, fmt.Errorf("searchbench: sample messages: %v (%d found)", err, len(samples))
	}
	return samples, mine, nil
}

func printPercentiles(out io.Writer, name string, d []time.Duration, hitsPerPage float64) {
	if len(d) == 0 {
		return
	}
	slices.Sort(d)
	at := func(p float64) time.Duration { return d[min(len(d)-1, int(p*float64(len(d))))] }
	ms := func(x time.Duration) string { return fmt.Sprintf("%.1fms", float64(x.Microseconds())/1000) }
	hits := ""
	if hitsPerPage >= 0 {
		hits = fmt.Sprintf("%.1f", hitsPerPage)
	}
	fmt.Fprintf(out, "%-16s %8d %8s %8s %8s %8s %10s\n", name, len(d), ms(at(0.50)), ms(at(0.95)), ms(at(0.99)), ms(d[len(d)-1]), hits)
}
