package outagetest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/tellyou/tellyou/cmd/tellyou/servertest"
	"github.com/tellyou/tellyou/events/pgstore/pgtest"
)

// TestCorruptEventShowsOnMetricsUntilRepaired writes an event that history
// cannot decode straight into a running node's log with SQL. The node keeps
// serving; history stops just below the event, says so in its log, on
// /metrics and on /readyz; sessions goes past it. The operator repairs the
// row with SQL, and history resumes and catches up, with no restart.
func TestCorruptEventShowsOnMetricsUntilRepaired(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := pgtest.NewDatabase(t)
	n := startNode(t, "a", url)
	ann := n.dial(t, "ann")
	first := ann.request(sendFrame("bob", "first"))
	for _, cid := range []string{"second", "third"} {
		ann.request(sendFrame("bob", cid))
	}
	db, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close(ctx)

	// A recall with a seq that is not a number. (A corrupt MessageSent would
	// stop both projections, which both read it; a recall is history's only.)
	id := uuid.New()
	var bad, version int64
	err = db.QueryRow(ctx, `WITH v AS (
			UPDATE tellyou_streams SET version = version + 1 WHERE stream_id = 'd:ann:bob' RETURNING version),
		h AS (UPDATE tellyou_log_head SET position = position + 1 RETURNING position)
		INSERT INTO tellyou_events (position, stream_id, version, event_id, type, data, metadata)
		SELECT h.position, 'd:ann:bob', v.version, $1, 'MessageRecalled', $2::json, $3::json FROM v, h
		RETURNING position, version`, id,
		fmt.Sprintf(`{"sessionId":"d:ann:bob","messageId":%q,"seq":"oops","by":"ann","recalledAt":1}`, first["messageId"]),
		fmt.Sprintf(`{"eventId":%q,"correlationId":"sql","causationId":"sql","actor":"ann","occurredAt":1,"schemaVersion":1}`, id),
	).Scan(&bad, &version)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(ctx, `SELECT pg_notify('tellyou_events', 'operator')`); err != nil {
		t.Fatal(err)
	}
	// The node goes on: messages in another session are acked and projected
	// by sessions, past the bad event.
	for _, cid := range []string{"to-carl-1", "to-carl-2"} {
		if f := ann.request(sendFrame("carl", cid)); f["type"] != "sendAck" {
			t.Fatalf("send %s after the corruption answered %v", cid, f)
		}
	}

	waitFor(t, 30*time.Second, "history to fail on /metrics", func() bool {
		m := n.metrics(t)
		return metric(m, `tellyou_projection_failing{projection="history"}`) == 1 &&
			metric(m, `tellyou_projection_failures_total{projection="history"}`) >= 1
	})
	waitFor(t, 30*time.Second, "sessions to pass the bad event", func() bool { return checkpoint(t, db, "sessions") > bad })
	m := n.metrics(t)
	if metric(m, `tellyou_projection_failing{projection="sessions"}`) != 0 || metric(m, `tellyou_projection_failures_total{projection="sessions"}`) != 0 {
		t.Errorf("sessions shows as failing on /metrics:\n%s", grep(m, "tellyou_projection_"))
	}
	if got := checkpoint(t, db, "history"); got >= bad {
		t.Errorf("history checkpoint %d, want below the bad event at %d", got, bad)
	}
	if status, reason := n.Ready(); status != http.StatusServiceUnavailable || !strings.Contains(reason, "projection history is failing") {
		t.Errorf("/readyz = %d %q, want 503 naming history", status, reason)
	}
	if !loggedFailure(n.Logs(), "history", bad, "d:ann:bob", version, "MessageRecalled") {
		t.Errorf("no log line naming the projection, position, stream, version, type and error:\n%s", servertest.Tail(n.Logs(), 20))
	}
	// The push hub cannot decode it either: after its retries, it is a dead
	// letter, counted and listed.
	waitFor(t, 30*time.Second, "the dead letter", func() bool { return metric(n.metrics(t), "tellyou_dead_letters_total") == 1 })
	list := exec.Command(binary, "deadletters", "--limit", "5")
	list.Env = append(os.Environ(), "TELLYOU_DATABASE_URL="+url)
	out, err := list.Output()
	if err != nil {
		t.Fatalf("tellyou deadletters: %v", err)
	}
	var letter struct {
		UUID    string          `json:"uuid"`
		Reason  string          `json:"reason"`
		At      time.Time       `json:"at"`
		Payload json.RawMessage `json:"payload"`
	}
	if err := json.Unmarshal(out, &letter); err != nil || letter.UUID != id.String() ||
		!strings.Contains(letter.Reason, "decode") || !strings.Contains(string(letter.Payload), `"oops"`) {
		t.Errorf("tellyou deadletters printed %s (%v), want the corrupt event %s and why", out, err, id)
	}

	// The operator's repair.
	if _, err := db.Exec(ctx, `UPDATE tellyou_events SET data = json_build_object(
		'sessionId', 'd:ann:bob', 'messageId', $2::text, 'seq', 1, 'by', 'ann', 'recalledAt', 1) WHERE position = $1`,
		bad, first["messageId"]); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "history to resume", func() bool {
		return metric(n.metrics(t), `tellyou_projection_failing{projection="history"}`) == 0
	})
	waitFor(t, 30*time.Second, "the node to be ready", func() bool {
		status, _ := n.Ready()
		return status == http.StatusOK
	})
	var page struct {
		Messages []struct {
			Seq      int64 `json:"seq"`
			Recalled bool  `json:"recalled"`
		} `json:"messages"`
	}
	waitFor(t, 30*time.Second, "history to catch up", func() bool {
		n.get(t, "ann", "/v1/sessions/d:ann:carl/messages?afterSeq=0", &page)
		return len(page.Messages) == 2
	})
	n.get(t, "ann", "/v1/sessions/d:ann:bob/messages?afterSeq=0", &page)
	if len(page.Messages) != 3 || !page.Messages[0].Recalled {
		t.Errorf("d:ann:bob history = %+v, want 3 messages, the first recalled", page.Messages)
	}
}

// metric returns the value of the sample named with its labels exactly, or -1
// when the page has none.
func metric(page, sample string) float64 {
	for line := range strings.Lines(page) {
		if rest, ok := strings.CutPrefix(line, sample+" "); ok {
			v, err := strconv.ParseFloat(strings.TrimSpace(rest), 64)
			if err == nil {
				return v
			}
		}
	}
	return -1
}

func grep(page, prefix string) string {
	var out []string
	for line := range strings.Lines(page) {
		if strings.HasPrefix(line, prefix) {
			out = append(out, strings.TrimSpace(line))
		}
	}
	return strings.Join(out, "\n")
}

func checkpoint(t *testing.T, db *pgx.Conn, name string) int64 {
	t.Helper()
	var pos int64
	if err := db.QueryRow(context.Background(),
		`SELECT coalesce((SELECT position FROM rm_checkpoints WHERE name = $1), 0)`, name).Scan(&pos); err != nil {
		t.Fatal(err)
	}
	return pos
}

// loggedFailure looks for the runner's JSON log line of the failure.
func loggedFailure(logs, projection string, position int64, stream string, version int64, eventType string) bool {
	for line := range strings.Lines(logs) {
		var rec struct {
			Msg, Projection, Stream, Type, Error string
			Position, Version                    int64
		}
		if json.Unmarshal([]byte(line), &rec) != nil {
			continue
		}
		if rec.Msg == "projection failed" && rec.Projection == projection && rec.Position == position &&
			rec.Stream == stream && rec.Version == version && rec.Type == eventType && rec.Error != "" {
			return true
		}
	}
	return false
}
