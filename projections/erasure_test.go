package projections_test

import (
	"context"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/tellyou/tellyou/events"
	"github.com/tellyou/tellyou/projections"
	"github.com/tellyou/tellyou/projections/projectiontest"
)

// applyAll applies evs, as opened content (Erased set where the key is
// gone), through p's Apply, or its run for MessageSent when run is set, in
// one batch.
func applyAll(t *testing.T, env *projectiontest.Env, p projections.Projection, run bool, evs ...events.Payload) {
	t.Helper()
	var b pgx.Batch
	var r projections.Run
	if c, ok := p.(projections.Coalescer); ok && run {
		r = c.NewRun(projections.TableNames{})
	}
	for i, pl := range evs {
		stream := ""
		switch e := pl.(type) {
		case events.MessageSent:
			stream = e.SessionID
		case events.MessageEdited:
			stream = e.SessionID
		case events.UserErased:
			stream = events.UserStreamPrefix + e.UserID
		}
		rec := events.RecordedEvent{StreamID: stream, Version: int64(i + 1), Type: pl.EventType()}
		envl := events.Envelope{Payload: pl}
		if r != nil {
			joined, err := r.Add(rec, envl)
			if err != nil {
				t.Fatal(err)
			}
			if joined {
				continue
			}
			r.Flush(&b)
		}
		if err := p.Apply(&b, projections.TableNames{}, rec, envl); err != nil {
			t.Fatalf("apply %T: %v", pl, err)
		}
	}
	if r != nil {
		r.Flush(&b)
	}
	if err := env.Pool.SendBatch(context.Background(), &b).Close(); err != nil {
		t.Fatal(err)
	}
}

// TestProjectionsWriteContentWhoseKeyIsGoneAsErased checks what a rebuild
// meets once content is sealed: a MessageSent or MessageEdited opened with
// Erased set (whatever an opener left in Content) gives the erased row, in
// history and search, through Apply and through a run.
func TestProjectionsWriteContentWhoseKeyIsGoneAsErased(t *testing.T) {
	t.Parallel()
	for _, run := range []bool{false, true} {
		env := projectiontest.New(t)
		g := env.CreateGroup("g", "alice", "bob")
		now := env.Now()
		msg := func(content string, erased bool) events.MessageSent {
			g.Seq++
			return events.MessageSent{SessionID: g.ID, MessageID: uuid.NewString(), Seq: g.Seq, SenderID: "alice",
				MessageType: 1, Content: content, Ext: []byte(`{"k":"shredded"}`), ClientMessageID: uuid.NewString(),
				ClientTimestamp: now, ServerTimestamp: now, AdjustedTimestamp: now, Erased: erased}
		}
		gone, kept := msg("shredded words", true), msg("kept words", false)
		editedAway := msg("edited away", false)
		edit := events.MessageEdited{SessionID: g.ID, MessageID: editedAway.MessageID, Seq: editedAway.Seq, By: "alice",
			Content: "shredded edit", EditedAt: now + 1, Erased: true}
		for _, p := range []projections.Projection{projections.History(), projections.Search()} {
			applyAll(t, env, p, run, gone, kept, editedAway, edit)
		}
		rows, err := env.Pool.Query(context.Background(), `SELECT m.seq, m.content, m.ext IS NULL, m.erased, m.edited_at,
				s.body, s.recalled
			FROM rm_messages m JOIN rm_search s USING (message_id) WHERE m.session_id = $1 ORDER BY m.seq`, g.ID)
		if err != nil {
			t.Fatal(err)
		}
		type row struct {
			Seq            int64
			Content        string
			NoExt, Erased  bool
			EditedAt       int64
			Body           string
			SearchRecalled bool
		}
		got, err := pgx.CollectRows(rows, pgx.RowToStructByPos[row])
		if err != nil {
			t.Fatal(err)
		}
		want := []row{
			{Seq: 1, NoExt: true, Erased: true, SearchRecalled: true},
			{Seq: 2, Content: "kept words", Body: "kept words"},
			{Seq: 3, NoExt: true, Erased: true, EditedAt: now + 1, SearchRecalled: true},
		}
		if len(got) != len(want) {
			t.Fatalf("run %v: rows %+v, want %+v", run, got, want)
		}
		for i := range want {
			if got[i] != want[i] {
				t.Errorf("run %v: row %d = %+v, want %+v", run, i, got[i], want[i])
			}
		}
	}
}
