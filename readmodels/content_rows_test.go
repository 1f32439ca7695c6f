package readmodels_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/tellyou/tellyou/readmodels"
)

// TestRowsWrittenBeforeCompressionStillRead: rows that hold long content as
// plain text, as every row written before content was compressed does, read
// back as they are, beside compressed ones.
func TestRowsWrittenBeforeCompressionStillRead(t *testing.T) {
	t.Parallel()
	env, q := newEnv(t)
	g := env.CreateGroup("team", "alice", "bob")
	compressed := g.Send("alice", strings.Repeat(multiByteText, 30))
	env.WaitCaughtUp()

	// An older row: only the columns the first schema had; the others take
	// their defaults, as the migration gives existing rows.
	old := strings.Repeat("written by an older version ✓ ", 100)
	oldID := uuid.NewString()
	if _, err := env.Pool.Exec(ctx, `INSERT INTO rm_messages (session_id, seq, message_id, sender_id, message_type,
		content, ext, client_message_id, client_ts, server_ts, adjusted_ts, recalled)
		VALUES ($1, 100, $2, 'bob', 1, $3, NULL, 'old', 1, 1, 1, false)`, g.ID, oldID, old); err != nil {
		t.Fatal(err)
	}
	var encoding string
	if err := env.Pool.QueryRow(ctx, `SELECT content_encoding FROM rm_messages WHERE message_id = $1`, oldID).Scan(&encoding); err != nil ||
		encoding != readmodels.ContentPlain {
		t.Fatalf("an old row's encoding = %q, %v; want %q", encoding, err, readmodels.ContentPlain)
	}
	page, err := q.Messages(ctx, g.ID, readmodels.PageQuery{})
	if err != nil || len(page.Messages) != 2 {
		t.Fatalf("history: %d messages, %v", len(page.Messages), err)
	}
	if page.Messages[0].Content != compressed.Content || page.Messages[1].Content != old {
		t.Errorf("history came back as %d and %d bytes, want %d and %d",
			len(page.Messages[0].Content), len(page.Messages[1].Content), len(compressed.Content), len(old))
	}
	if m, err := q.MessageByID(ctx, g.ID, oldID); err != nil || m.Content != old {
		t.Errorf("old row by id: %d bytes, %v", len(m.Content), err)
	}
}

// TestDamagedStoredContentIsAnErrorNotGarbage: a row whose stored content
// cannot be decoded fails the query that reads it, on every read path.
func TestDamagedStoredContentIsAnErrorNotGarbage(t *testing.T) {
	t.Parallel()
	env, q := newEnv(t)
	g := env.CreateGroup("team", "alice", "bob")
	m := g.Send("alice", strings.Repeat(multiByteText, 30))
	env.WaitCaughtUp()
	if _, err := env.Pool.Exec(ctx, `UPDATE rm_messages SET content_packed = substring(content_packed for 10)
		WHERE message_id = $1`, m.MessageID); err != nil {
		t.Fatal(err)
	}
	_, err := q.Messages(ctx, g.ID, readmodels.PageQuery{})
	if !errors.Is(err, readmodels.ErrCorruptContent) || !strings.Contains(err.Error(), m.MessageID) {
		t.Errorf("history: %v; want ErrCorruptContent naming the message", err)
	}
	if _, err := q.MessageByID(ctx, g.ID, m.MessageID); !errors.Is(err, readmodels.ErrCorruptContent) {
		t.Errorf("by id: %v; want ErrCorruptContent", err)
	}
	if _, err := q.Inbox(ctx, "bob", 0); !errors.Is(err, readmodels.ErrCorruptContent) {
		t.Errorf("inbox: %v; want ErrCorruptContent", err)
	}
	if _, err := q.Sessions(ctx, "bob"); !errors.Is(err, readmodels.ErrCorruptContent) {
		t.Errorf("sessions: %v; want ErrCorruptContent", err)
	}
	if _, err := env.Pool.Exec(ctx, `UPDATE rm_messages SET content_encoding = 'zstd' WHERE message_id = $1`, m.MessageID); err != nil {
		t.Fatal(err)
	}
	if _, err := q.MessageByID(ctx, g.ID, m.MessageID); !errors.Is(err, readmodels.ErrCorruptContent) || !strings.Contains(err.Error(), "zstd") {
		t.Errorf("unknown encoding: %v; want ErrCorruptContent naming it", err)
	}
}
