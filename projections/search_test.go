package projections_test

import (
	"testing"

	"github.com/tellyou/tellyou/events"
	"github.com/tellyou/tellyou/projections"
	"github.com/tellyou/tellyou/projections/projectiontest"
)

// editMessage appends an edit of m by its sender.
func editMessage(s *projectiontest.SessionLog, m events.MessageSent, content string) {
	s.Env.TB.Helper()
	s.Env.Append(s.ID, events.MessageEdited{SessionID: s.ID, MessageID: m.MessageID, Seq: m.Seq,
		By: m.SenderID, Content: content, EditedAt: s.Env.Now()})
}

// searchRow is what rm_search holds of a message.
type searchRow struct {
	body     string
	recalled bool
	lexemes  string
}

func searchRows(t *testing.T, env *projectiontest.Env, sessionID string) map[int64]searchRow {
	t.Helper()
	rows, err := env.Pool.Query(ctx, `SELECT seq, body, recalled, tsv::text FROM rm_search WHERE session_id = $1`, sessionID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[int64]searchRow{}
	for rows.Next() {
		var seq int64
		var r searchRow
		if err := rows.Scan(&seq, &r.body, &r.recalled, &r.lexemes); err != nil {
			t.Fatal(err)
		}
		out[seq] = r
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestSearchProjectionKeepsLatestTextAndForgetsRecalled(t *testing.T) {
	t.Parallel()
	env := projectiontest.New(t)
	env.StartRunner(projections.RunnerConfig{Projections: []projections.Projection{projections.Search()}})
	g := env.CreateGroup("g", "alice", "bob")
	kept := g.Send("alice", "Plain Words stay")
	edited := g.Send("alice", "first draft")
	editMessage(g, edited, "Second Draft")
	recalled := g.Send("bob", "secret plans")
	g.Recall(recalled)
	editMessage(g, recalled, "an edit after the recall")
	env.Append(g.ID, recalled) // a late copy of the message
	env.WaitCaughtUp(projections.SearchName)

	want := map[int64]searchRow{
		kept.Seq:     {"Plain Words stay", false, "'plain':1 'stay':3 'words':2"},
		edited.Seq:   {"Second Draft", false, "'draft':2 'second':1"},
		recalled.Seq: {"", true, ""},
	}
	got := searchRows(t, env, g.ID)
	if len(got) != len(want) {
		t.Fatalf("rows %+v, want %+v", got, want)
	}
	for seq, w := range want {
		if got[seq] != w {
			t.Errorf("row of seq %d = %+v, want %+v", seq, got[seq], w)
		}
	}
}
