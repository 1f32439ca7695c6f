package projections_test

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/tellyou/tellyou/events"
	"github.com/tellyou/tellyou/projections"
	"github.com/tellyou/tellyou/projections/projectiontest"
)

// TestOperatorRepairsACorruptEventInTheLog follows a projection failure from
// the corrupt row to its repair, as an operator lives it: an event written
// into tellyou_events with SQL, bypassing the store's checks, that history
// cannot decode. (A corrupt MessageSent would stop both projections, which
// both read it; a MessageRecalled is history's alone, so sessions must go on.)
func TestOperatorRepairsACorruptEventInTheLog(t *testing.T) {
	t.Parallel()
	env := projectiontest.New(t)
	g := env.CreateGroup("team", "alice", "bob")
	first := g.Send("alice", "1")
	g.Send("alice", "2")
	before := env.LastAppended()
	bad, version := insertRawEvent(t, env, g.ID, events.TypeMessageRecalled,
		fmt.Sprintf(`{"sessionId":%q,"messageId":%q,"seq":"oops","by":"alice","recalledAt":1}`, g.ID, first.MessageID))
	g.Send("bob", "3")
	g.Send("bob", "4")

	var logs syncBuffer
	failures := &failureCounts{}
	r := env.StartRunner(projections.RunnerConfig{
		Logger:       slog.New(slog.NewJSONHandler(&logs, nil)),
		RetryBackoff: 10 * time.Millisecond, MaxRetryBackoff: 40 * time.Millisecond,
		OnFailure: failures.add,
	})

	// sessions passes the event; history stops below it and keeps retrying.
	env.WaitCaughtUp(projections.SessionsName)
	waitFor(t, "history to fail a few times", func() bool { return failures.count(projections.HistoryName) >= 3 })
	if got := env.Checkpoint(projections.HistoryName); got != int64(before) {
		t.Fatalf("history checkpoint %d, want %d, just below the corrupt event at %d", got, before, bad)
	}
	if st := statusOf(r, projections.HistoryName); !st.Failing || st.Position != before || !strings.Contains(st.LastError, "cannot unmarshal") {
		t.Fatalf("history status %+v, want failing at %d on the bad seq", st, before)
	}
	if st := statusOf(r, projections.SessionsName); st.Failing || failures.count(projections.SessionsName) != 0 {
		t.Fatalf("sessions status %+v after %d failures, want it unaffected", st, failures.count(projections.SessionsName))
	}
	var ee *projections.EventError
	if err := failures.last(projections.HistoryName); !errors.As(err, &ee) || ee.Position != bad || ee.Version != version {
		t.Fatalf("OnFailure got %v, want the EventError of the event at %d", err, bad)
	}
	if !loggedFailure(logs.String(), projections.HistoryName, events.AppendResult{Position: bad, LastVersion: version},
		g.ID, events.TypeMessageRecalled) {
		t.Fatalf("no log line naming the projection, position, stream, version, type and error:\n%s", logs.String())
	}

	// The operator's repair: the recall as it should have been written.
	if _, err := env.Pool.Exec(ctx, `UPDATE tellyou_events SET data = json_build_object(
		'sessionId', $2::text, 'messageId', $3::text, 'seq', 1, 'by', 'alice', 'recalledAt', 1)
		WHERE position = $1`, int64(bad), g.ID, first.MessageID); err != nil {
		t.Fatal(err)
	}
	env.WaitCaughtUp(projections.HistoryName)
	waitFor(t, "history to recover", func() bool { return !statusOf(r, projections.HistoryName).Failing })

	// It caught up to the same read models as a replay of the repaired log.
	fresh := projectiontest.New(t)
	fresh.CopyLog(env.Store)
	fresh.StartRunner(projections.RunnerConfig{})
	fresh.WaitCaughtUp()
	if got, want := env.Dump(), fresh.Dump(); got != want {
		t.Errorf("read models after the repair:\n%s\nwant, as a replay of the repaired log gives:\n%s", got, want)
	}
	var recalled bool
	var messages int
	if err := env.Pool.QueryRow(ctx, `SELECT bool_or(recalled AND seq = 1), count(*) FROM rm_messages`).
		Scan(&recalled, &messages); err != nil {
		t.Fatal(err)
	}
	if !recalled || messages != 4 {
		t.Errorf("history holds %d messages, recall applied %v; want 4 and the recall of seq 1", messages, recalled)
	}
}

// insertRawEvent writes an event the way a careless script would, with plain
// SQL next to the store: at the stream's next version, at the log's next
// position as the store numbers events. It returns the event's position and
// version.
func insertRawEvent(t *testing.T, env *projectiontest.Env, stream, eventType, data string) (events.Position, int64) {
	t.Helper()
	id := uuid.New()
	meta := fmt.Sprintf(`{"eventId":%q,"correlationId":"sql","causationId":"sql","actor":"operator","occurredAt":1,"schemaVersion":1}`, id)
	var pos, version int64
	err := env.Pool.QueryRow(ctx, `WITH v AS (
			UPDATE tellyou_streams SET version = version + 1 WHERE stream_id = $1 RETURNING version),
		h AS (UPDATE tellyou_log_head SET position = position + 1 RETURNING position)
		INSERT INTO tellyou_events (position, stream_id, version, event_id, type, data, metadata)
		SELECT h.position, $1, v.version, $2, $3, $4::json, $5::json FROM v, h
		RETURNING position, version`, stream, id, eventType, data, meta).Scan(&pos, &version)
	if err != nil {
		t.Fatalf("insert a raw %s into %s: %v", eventType, stream, err)
	}
	return events.Position(pos), version
}

// failureCounts records what RunnerConfig.OnFailure reports.
type failureCounts struct {
	mu     sync.Mutex
	counts map[string]int
	errs   map[string]error
}

func (f *failureCounts) add(projection string, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.counts == nil {
		f.counts, f.errs = map[string]int{}, map[string]error{}
	}
	f.counts[projection]++
	f.errs[projection] = err
}

func (f *failureCounts) count(projection string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.counts[projection]
}

func (f *failureCounts) last(projection string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.errs[projection]
}
