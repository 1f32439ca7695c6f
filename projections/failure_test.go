package projections_test

import (
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/tellyou/tellyou/events"
	"github.com/tellyou/tellyou/projections"
	"github.com/tellyou/tellyou/projections/projectiontest"
)

func TestCorruptEventStopsOnlyItsProjection(t *testing.T) {
	t.Parallel()
	env := projectiontest.New(t)
	g := env.CreateGroup("team", "alice", "bob")
	g.Send("alice", "1")
	g.Send("alice", "2")
	beforeRecall := env.LastAppended()
	// Only history reads MessageRecalled: it stops here, sessions goes on.
	badRecall := env.AppendData(g.ID, brokenEvent(events.TypeMessageRecalled, `{"seq":"oops"}`, 1))
	g.Send("bob", "3")
	g.Send("bob", "4")
	beforeRead := env.LastAppended()
	// Only sessions reads MessagesRead: it stops here; its metadata comes
	// from a future schema.
	badRead := env.AppendData(g.ID, brokenEvent(events.TypeMessagesRead,
		`{"sessionId":"`+g.ID+`","userId":"bob","upToSeq":4}`, 99))
	g.Send("alice", "5")

	var logs syncBuffer
	r := env.StartRunner(projections.RunnerConfig{
		Logger: slog.New(slog.NewJSONHandler(&logs, nil)), RetryBackoff: 10 * time.Millisecond})
	waitFor(t, "both projections to fail", func() bool {
		return statusOf(r, projections.HistoryName).Failing && statusOf(r, projections.SessionsName).Failing
	})
	time.Sleep(150 * time.Millisecond) // a few retries: they must not get past

	for _, tc := range []struct {
		name      string
		stopped   events.Position // the checkpoint: the event just before the bad one
		bad       events.AppendResult
		eventType string
		complaint string
	}{
		{projections.HistoryName, beforeRecall, badRecall, events.TypeMessageRecalled, "cannot unmarshal"},
		{projections.SessionsName, beforeRead, badRead, events.TypeMessagesRead, "unsupported schema version 99"},
	} {
		if got := env.Checkpoint(tc.name); got != int64(tc.stopped) {
			t.Errorf("%s checkpoint %d, want %d (just below the bad event at %d)", tc.name, got, tc.stopped, tc.bad.Position)
		}
		st := statusOf(r, tc.name)
		if !st.Failing || st.Position != tc.stopped || !strings.Contains(st.LastError, tc.complaint) {
			t.Errorf("%s status %+v, want failing at %d with %q", tc.name, st, tc.stopped, tc.complaint)
		}
		if !loggedFailure(logs.String(), tc.name, tc.bad, g.ID, tc.eventType) {
			t.Errorf("no log of %s failing on %s at %d with its stream, version and type:\n%s",
				tc.name, tc.eventType, tc.bad.Position, logs.String())
		}
	}
	// history stopped after message 2, sessions went on to message 4.
	var messages, lastSeq int64
	if err := env.Pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM rm_messages),
		(SELECT last_seq FROM rm_sessions)`).Scan(&messages, &lastSeq); err != nil {
		t.Fatal(err)
	}
	if messages != 2 || lastSeq != 4 {
		t.Errorf("%d messages and last seq %d, want 2 and 4", messages, lastSeq)
	}
}

func loggedFailure(logs, projection string, bad events.AppendResult, stream, eventType string) bool {
	for line := range strings.Lines(logs) {
		var rec struct {
			Msg, Projection, Stream, Type, Error string
			Position, Version                    int64
		}
		if json.Unmarshal([]byte(line), &rec) != nil {
			continue
		}
		if rec.Msg == "projection failed" && rec.Projection == projection && rec.Position == int64(bad.Position) &&
			rec.Stream == stream && rec.Version == bad.LastVersion && rec.Type == eventType && rec.Error != "" {
			return true
		}
	}
	return false
}

func TestFailureInsidePostgreSQLCommitsTheEventsBefore(t *testing.T) {
	t.Parallel()
	env := projectiontest.New(t)
	createCountingTable(t, env)
	g := env.CreateGroup("team", "alice", "bob")
	g.Send("alice", "1")
	before := env.LastAppended()
	g.Send("alice", "poison") // violates the counting table's CHECK
	g.Send("alice", "3")

	r := env.StartRunner(projections.RunnerConfig{Projections: []projections.Projection{countingProjection{}}})
	waitFor(t, "the failure", func() bool { return statusOf(r, "counting").Failing })
	time.Sleep(100 * time.Millisecond)
	if got := env.Checkpoint("counting"); got != int64(before) {
		t.Errorf("checkpoint %d, want %d: the events before the poison one are applied, it is not", got, before)
	}
	var rows int
	_ = env.Pool.QueryRow(ctx, `SELECT count(*) FROM test_applied`).Scan(&rows)
	if rows != 2 {
		t.Errorf("%d events applied, want 2", rows)
	}
	if st := statusOf(r, "counting"); !strings.Contains(st.LastError, "test_applied_content_check") {
		t.Errorf("status %+v, want the CHECK violation", st)
	}
}

func TestEventErrorNamesTheEvent(t *testing.T) {
	t.Parallel()
	err := error(&projections.EventError{Projection: "history", Position: 42, StreamID: "g:x", Version: 3,
		Type: events.TypeMessageSent, Err: errors.New("boom")})
	if got := err.Error(); got != "projection history: apply MessageSent g:x@3 at position 42: boom" {
		t.Errorf("Error() = %q", got)
	}
	var ee *projections.EventError
	if !errors.As(err, &ee) || errors.Unwrap(err).Error() != "boom" {
		t.Error("EventError does not unwrap")
	}
}
