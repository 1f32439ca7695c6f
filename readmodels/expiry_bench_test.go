package readmodels_test

import (
	"testing"

	"github.com/tellyou/tellyou/events/pgstore/pgtest"
	"github.com/tellyou/tellyou/readmodels"
)

// BenchmarkDueExpiries measures the sweeper's query over 20,000 sessions of
// 25 messages each (500,000 rm_messages rows), one message a minute. Every
// tenth session has a retention of its own (30 days); a tenth of those
// (200) have messages due, as do (with the default on) a tenth of the
// others. "own" is the query with no server default (the partial index
// finds the 2,000 sessions with a setting), "default" with one (every
// session is a candidate). One sweep reads every page of DefaultPage (500)
// sessions. Per candidate session the query probes rm_messages' primary key
// for its first held message and reads that row's server_ts from the heap;
// a due session's messages are read up to the first that is not due.
func BenchmarkDueExpiries(b *testing.B) {
	pool := pgtest.NewPool(b)
	if err := readmodels.Migrate(ctx, pool); err != nil {
		b.Fatal(err)
	}
	const sessions, perSession = 20000, 25
	const now = int64(1_800_000_000_000)
	day := readmodels.DayMillis
	// Session i's messages start 40 days ago when i % 10 == 0 (due under
	// any 30-day retention), 10 days ago otherwise.
	_, err := pool.Exec(ctx, `
		INSERT INTO rm_sessions (session_id, kind, created_at, last_seq, last_activity, retention_days)
		SELECT 'g:' || lpad(i::text, 8, '0'), 'group', 0, $1, 0, CASE WHEN i % 10 = 5 OR i % 100 = 0 THEN 30 END
		FROM generate_series(1, $2::int) i`, perSession, sessions)
	if err != nil {
		b.Fatal(err)
	}
	_, err = pool.Exec(ctx, `
		INSERT INTO rm_messages (session_id, seq, message_id, sender_id, message_type, content,
			client_message_id, client_ts, server_ts, adjusted_ts)
		SELECT 'g:' || lpad(i::text, 8, '0'), s, gen_random_uuid(), 'ann', 1, 'hello there',
			'c' || s, t, t, t
		FROM generate_series(1, $1::int) i, generate_series(1, $2::int) s,
			LATERAL (SELECT $3::bigint - CASE WHEN i % 10 = 0 THEN 40 ELSE 10 END * $4::bigint + s * 60000 AS t) ts`,
		sessions, perSession, now, day)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `ANALYZE rm_sessions; ANALYZE rm_messages`); err != nil {
		b.Fatal(err)
	}
	q := readmodels.New(pool)
	for _, tc := range []struct {
		name        string
		defaultDays int
		wantDue     int
	}{{"own", 0, 200}, {"default", 30, 2000}} {
		b.Run(tc.name, func(b *testing.B) {
			for b.Loop() {
				due, after := 0, ""
				for {
					page, err := q.DueExpiries(ctx, readmodels.ExpiryQuery{Now: now, DefaultDays: tc.defaultDays, AfterSessionID: after, Limit: 500})
					if err != nil {
						b.Fatal(err)
					}
					due += len(page)
					if len(page) < 500 {
						break
					}
					after = page[len(page)-1].SessionID
				}
				if due != tc.wantDue {
					b.Fatalf("%d sessions due, want %d", due, tc.wantDue)
				}
			}
		})
	}
}
