package projections_test

import (
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/tellyou/tellyou/events"
	"github.com/tellyou/tellyou/projections"
	"github.com/tellyou/tellyou/projections/projectiontest"
)

// A statement written for a run of events fails in PostgreSQL: the batch is
// tried again an event at a time, so the projection stops exactly before the
// failing event, with the events before it applied, and resumes once the
// cause is gone.
func TestFailureInARunStopsAtItsEvent(t *testing.T) {
	t.Parallel()
	env := projectiontest.New(t)
	if _, err := env.Pool.Exec(t.Context(), `
		CREATE FUNCTION refuse_poison() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN
			IF NEW.content = 'poison' THEN RAISE EXCEPTION 'poisoned message refused'; END IF;
			RETURN NEW;
		END $$;
		CREATE TRIGGER refuse_poison BEFORE INSERT ON rm_messages
			FOR EACH ROW EXECUTE FUNCTION refuse_poison();`); err != nil {
		t.Fatal(err)
	}
	g := env.CreateGroup("team", "alice", "bob")
	// Five messages in one append, so they reach the projection together.
	var msgs []events.Payload
	for _, content := range []string{"one", "two", "poison", "four", "five"} {
		g.Seq++
		now := env.Now()
		msgs = append(msgs, events.MessageSent{SessionID: g.ID, MessageID: uuid.NewString(), Seq: g.Seq,
			SenderID: "alice", MessageType: 1, Content: content, ClientMessageID: uuid.NewString(),
			ClientTimestamp: now, ServerTimestamp: now, AdjustedTimestamp: now})
	}
	res := env.Append(g.ID, msgs...)
	poisonPos := res.Position - 2 // one append: consecutive positions

	r := env.StartRunner(projections.RunnerConfig{RetryBackoff: 10 * time.Millisecond})
	waitFor(t, "history to fail", func() bool { return statusOf(r, projections.HistoryName).Failing })
	st := statusOf(r, projections.HistoryName)
	if st.Position != poisonPos-1 || env.Checkpoint(projections.HistoryName) != int64(poisonPos-1) {
		t.Fatalf("history stopped at %d (checkpoint %d), want just below the poisoned event at %d",
			st.Position, env.Checkpoint(projections.HistoryName), poisonPos)
	}
	if !strings.Contains(st.LastError, "poisoned message refused") || strings.Contains(st.LastError, "run of events") {
		t.Fatalf("history's error %q: want the event's own failure", st.LastError)
	}
	var contents []string
	rows, err := env.Pool.Query(t.Context(), `SELECT content FROM rm_messages WHERE session_id = $1 ORDER BY seq`, g.ID)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			t.Fatal(err)
		}
		contents = append(contents, c)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if strings.Join(contents, ",") != "one,two" {
		t.Fatalf("history holds %v, want the two messages before the poisoned one", contents)
	}

	if _, err := env.Pool.Exec(t.Context(), `DROP TRIGGER refuse_poison ON rm_messages`); err != nil {
		t.Fatal(err)
	}
	env.WaitCaughtUp(projections.HistoryName)
	var n int
	if err := env.Pool.QueryRow(t.Context(), `SELECT count(*) FROM rm_messages WHERE session_id = $1`, g.ID).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 5 {
		t.Fatalf("%d messages after the cause was removed, want 5", n)
	}
}
