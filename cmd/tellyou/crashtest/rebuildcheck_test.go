package crashtest_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5/pgxpool"
)

// readModelTables are the read-model tables compared before and after a
// rebuild, each with the order that makes a dump deterministic.
var readModelTables = []struct{ name, order string }{
	{"rm_messages", "session_id, seq"},
	{"rm_reactions", "message_id, emoji, user_id"},
	{"rm_sessions", "session_id"},
	{"rm_members", "session_id, user_id"},
}

// dumpReadModels returns every row of the read-model tables as text.
func dumpReadModels(ctx context.Context, db *pgxpool.Pool) (map[string][]string, error) {
	dump := map[string][]string{}
	for _, t := range readModelTables {
		rows, err := db.Query(ctx, fmt.Sprintf(`SELECT t::text FROM %s t ORDER BY %s`, t.name, t.order))
		if err != nil {
			return nil, fmt.Errorf("dump %s: %w", t.name, err)
		}
		for rows.Next() {
			var row string
			if err := rows.Scan(&row); err != nil {
				rows.Close()
				return nil, fmt.Errorf("dump %s: %w", t.name, err)
			}
			dump[t.name] = append(dump[t.name], row)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("dump %s: %w", t.name, err)
		}
	}
	return dump, nil
}

// checkRebuild dumps the read models the server built live, through all its
// crashes, runs `tellyou rebuild` (a replay of the whole log into fresh
// tables, switched in) against the same database, dumps again and reports
// every table whose rows differ. It returns the rebuild's output.
func checkRebuild(ctx context.Context, b *testbed) ([]string, string, error) {
	live, err := dumpReadModels(ctx, b.db)
	if err != nil {
		return nil, "", err
	}
	out, err := b.runTool(ctx, "rebuild")
	if err != nil {
		return nil, string(out), err
	}
	rebuilt, err := dumpReadModels(ctx, b.db)
	if err != nil {
		return nil, string(out), err
	}
	var problems []string
	for _, t := range readModelTables {
		l, r := live[t.name], rebuilt[t.name]
		if len(l) != len(r) {
			problems = append(problems, fmt.Sprintf("%s: %d rows built live, %d after a rebuild from the log", t.name, len(l), len(r)))
		}
		shown := 0
		for i := range min(len(l), len(r)) {
			if l[i] != r[i] && shown < 5 {
				problems = append(problems, fmt.Sprintf("%s row %d: live %s, rebuilt %s", t.name, i+1, l[i], r[i]))
				shown++
			}
		}
	}
	return problems, string(out), nil
}

// checkAuditCommand runs `tellyou audit --session` for a session and
// compares its output with the log.
func checkAuditCommand(ctx context.Context, b *testbed, s *sessionLog) ([]string, error) {
	out, err := b.runTool(ctx, "audit", "--session", s.id)
	if err != nil {
		return nil, err
	}
	var got []auditEvent
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		var e auditEvent
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			return nil, fmt.Errorf("tellyou audit --session %s printed %q: %w", s.id, line, err)
		}
		got = append(got, e)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return compareEvents("tellyou audit --session "+s.id, got, s.events), nil
}
