package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tellyou/tellyou/events/pgstore/pgtest"
	"github.com/tellyou/tellyou/handlers/transport/auth"
	"github.com/tellyou/tellyou/projections"
)

type pulledMessage struct {
	SenderID string          `json:"senderId"`
	Content  string          `json:"content"`
	Ext      json.RawMessage `json:"ext"`
	Erased   bool            `json:"erased"`
}

// TestEraseEndToEnd erases users through the HTTP API of a running server
// and checks every read path, a rebuild, the audit, and that the erased
// words are nowhere in the database in clear.
func TestEraseEndToEnd(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := pgtest.NewDatabase(t)
	const secret = "erase-test-secret-0123456789abcdef"
	n := startNodeWith(t, url, secret)
	marker := "erasemarker" + strings.ReplaceAll(uuid.NewString(), "-", "")
	kept := "keptmarker" + strings.ReplaceAll(uuid.NewString(), "-", "")

	ann, dave := n.dial(t, "ann"), n.dial(t, "dave")
	writeFrame(t, ann, fmt.Sprintf(`{"type":"send","id":"a1","toUserId":"bob","messageType":1,"content":"hello %s","clientMessageId":"a1","ext":{"note":"%s"}}`, marker, marker))
	sessionID := readUntil(t, ann, "sendAck")["sessionId"].(string)
	bob := n.dial(t, "bob")
	writeFrame(t, bob, fmt.Sprintf(`{"type":"send","id":"b1","toUserId":"ann","messageType":1,"content":"bob says %s","clientMessageId":"b1"}`, kept))
	readUntil(t, bob, "sendAck")
	long := strings.Repeat("a long story about "+marker+" and more; ", 60) // stored compressed
	writeFrame(t, ann, fmt.Sprintf(`{"type":"send","id":"a2","toUserId":"bob","messageType":1,"content":%q,"clientMessageId":"a2"}`, long))
	readUntil(t, ann, "sendAck")
	writeFrame(t, dave, fmt.Sprintf(`{"type":"send","id":"d1","toUserId":"bob","messageType":1,"content":"dave %s","clientMessageId":"d1"}`, marker))
	readUntil(t, dave, "sendAck")

	history := func(session string) []pulledMessage {
		var page struct {
			Messages []pulledMessage `json:"messages"`
		}
		if status := n.get(t, "bob", "/v1/sessions/"+session+"/messages?afterSeq=0", &page); status != http.StatusOK {
			t.Fatalf("history status %d", status)
		}
		return page.Messages
	}
	waitUntil(t, "the messages in the history", func() bool { return len(history(sessionID)) == 3 })
	// Search is a projection of its own: it may trail the history.
	waitUntil(t, "search to find the marker before the erasure", func() bool { return search(t, n, "bob", marker) > 0 })

	// Refused: another user without the admin role, even an auditor.
	before := dumpReadModels(t, url)
	for _, tok := range []string{n.token(t, "eve"), n.token(t, "eve", auth.RoleAuditor), n.token(t, "bob")} {
		status, body := n.request(t, http.MethodDelete, "/v1/users/ann", tok, "")
		if status != http.StatusForbidden || !bytes.Contains(body, []byte(`"code":"forbidden"`)) {
			t.Fatalf("erase without the role = %d %s, want 403 forbidden", status, body)
		}
	}
	if status, body := n.request(t, http.MethodGet, "/v1/audit/users/ann/events", n.token(t, "bob"), ""); status != http.StatusForbidden {
		t.Fatalf("user audit without the role = %d %s", status, body)
	}
	if status, body := n.request(t, http.MethodGet, "/v1/audit/users/ann/events", n.token(t, "ops", auth.RoleAdmin), ""); status != http.StatusOK ||
		string(bytes.TrimSpace(body)) != `{"events":[]}` {
		t.Fatalf("user audit before any erasure = %d %s", status, body)
	}
	if after := dumpReadModels(t, url); after != before {
		t.Fatal("refused erasures changed the read models")
	}

	// ann erases herself; an admin erases dave; repeating answers the first.
	var first, again struct {
		UserID   string `json:"userId"`
		ErasedAt int64  `json:"erasedAt"`
	}
	status, body := n.request(t, http.MethodDelete, "/v1/users/me", n.token(t, "ann"), "")
	if status != http.StatusOK || json.Unmarshal(body, &first) != nil || first.UserID != "ann" || first.ErasedAt == 0 {
		t.Fatalf("self erasure = %d %s", status, body)
	}
	status, body = n.request(t, http.MethodDelete, "/v1/users/ann", n.token(t, "ops", auth.RoleAdmin), "")
	if status != http.StatusOK || json.Unmarshal(body, &again) != nil || again != first {
		t.Fatalf("repeated erasure = %d %s, want %+v", status, body, first)
	}
	if status, body = n.request(t, http.MethodDelete, "/v1/users/dave", n.token(t, "ops", auth.RoleAdmin), ""); status != http.StatusOK {
		t.Fatalf("admin erasure = %d %s", status, body)
	}
	if status, body = n.request(t, http.MethodDelete, "/v1/users/bad:id", n.token(t, "ops", auth.RoleAdmin), ""); status != http.StatusBadRequest {
		t.Fatalf("erasure of a malformed id = %d %s", status, body)
	}

	// Every read path shows ann's and dave's messages erased and bob's as
	// they were, once the projections have applied both erasures.
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	waitForProjections(t, conn)
	conn.Close(ctx)
	erasedShape := func(m pulledMessage) bool { return m.Erased && m.Content == "" && string(m.Ext) == "null" }
	waitUntil(t, "the erasure in the history", func() bool {
		msgs := history(sessionID)
		return erasedShape(msgs[0]) && erasedShape(msgs[2])
	})
	if msgs := history(sessionID); msgs[1].Erased || !strings.Contains(msgs[1].Content, kept) {
		t.Fatalf("bob's message after ann's erasure = %+v", msgs[1])
	}
	waitUntil(t, "the erasure in search", func() bool { return search(t, n, "bob", marker) == 0 })
	if search(t, n, "bob", kept) != 1 {
		t.Fatal("search lost bob's message")
	}
	var sessions struct {
		Sessions []struct {
			SessionID   string         `json:"sessionId"`
			LastMessage *pulledMessage `json:"lastMessage"`
		} `json:"sessions"`
	}
	if status := n.get(t, "bob", "/v1/sessions", &sessions); status != http.StatusOK {
		t.Fatalf("sessions status %d", status)
	}
	for _, s := range sessions.Sessions {
		if s.LastMessage == nil || !erasedShape(*s.LastMessage) {
			t.Fatalf("session list preview of %s = %+v, want erased", s.SessionID, s.LastMessage)
		}
	}
	status, body = n.request(t, http.MethodGet, "/v1/users/me/export", n.token(t, "ann"), "")
	if status != http.StatusOK || bytes.Contains(body, []byte(marker)) || bytes.Count(body, []byte(`"erased":true`)) != 2 {
		t.Fatalf("export after the erasure = %d %s", status, body)
	}
	writeFrame(t, bob, fmt.Sprintf(`{"type":"sync","id":"y","sessionId":%q,"afterSeq":0}`, sessionID))
	synced, _ := json.Marshal(readUntil(t, bob, "messages"))
	if bytes.Contains(synced, []byte(marker)) || bytes.Count(synced, []byte(`"erased":true`)) != 2 {
		t.Fatalf("sync after the erasure = %s", synced)
	}

	// The audit shows the erasure and who asked for it.
	var audit struct {
		Events []struct {
			StreamID string          `json:"streamId"`
			Type     string          `json:"type"`
			Data     json.RawMessage `json:"data"`
			Metadata json.RawMessage `json:"metadata"`
		} `json:"events"`
	}
	status, body = n.request(t, http.MethodGet, "/v1/audit/users/ann/events", n.token(t, "ops", auth.RoleAdmin), "")
	if status != http.StatusOK || json.Unmarshal(body, &audit) != nil || len(audit.Events) != 1 ||
		audit.Events[0].Type != "UserErased" || audit.Events[0].StreamID != "u:ann" ||
		!bytes.Contains(audit.Events[0].Data, []byte(`"by":"ann"`)) || !bytes.Contains(audit.Events[0].Metadata, []byte(`"actor":"ann"`)) {
		t.Fatalf("user audit = %d %s", status, body)
	}
	var out, errOut bytes.Buffer
	getenv := env(map[string]string{"TELLYOU_DATABASE_URL": url})
	if err := run(ctx, []string{"audit", "--user", "dave"}, getenv, &out, &errOut); err != nil ||
		!strings.Contains(out.String(), `"type":"UserErased"`) || !strings.Contains(out.String(), `\"by\":\"ops\"`) && !strings.Contains(out.String(), `"by":"ops"`) {
		t.Fatalf("tellyou audit --user dave = %v: %s", err, out.String())
	}

	// The operator's command erases as an admin and answers the first
	// erasure when repeated.
	var cli [2]struct {
		UserID   string `json:"userId"`
		By       string `json:"by"`
		ErasedAt int64  `json:"erasedAt"`
	}
	for i, by := range []string{"ops-cli", "someone-else"} {
		out.Reset()
		if err := run(ctx, []string{"erase", "--user", "carl", "--by", by}, getenv, &out, &errOut); err != nil {
			t.Fatalf("tellyou erase: %v (%s)", err, errOut.String())
		}
		if err := json.Unmarshal(out.Bytes(), &cli[i]); err != nil {
			t.Fatalf("tellyou erase printed %q: %v", out.String(), err)
		}
	}
	if cli[0].UserID != "carl" || cli[0].By != "ops-cli" || cli[1] != cli[0] {
		t.Fatalf("tellyou erase twice printed %+v", cli)
	}
	if err := run(ctx, []string{"erase"}, getenv, &out, &errOut); err == nil {
		t.Fatal("tellyou erase without --user accepted")
	}

	// A rebuild gives the same rows.
	erased := dumpReadModels(t, url)
	out.Reset()
	if err := run(ctx, []string{"rebuild"}, getenv, &out, &errOut); err != nil {
		t.Fatalf("rebuild: %v (%s)", err, errOut.String())
	}
	if rebuilt := dumpReadModels(t, url); rebuilt != erased {
		t.Fatalf("read models after the rebuild:\n%s\nwant, as before it:\n%s", rebuilt, erased)
	}

	// The erased words are nowhere in clear.
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	if !eventsSealed(t, pool) {
		t.Fatal("the log holds no sealed content")
	}
	if found := grepDatabase(t, pool, marker); len(found) > 0 {
		t.Fatalf("the erased marker is in clear in %q", found)
	}
	if found, read := grepRelationFiles(t, pool, marker); read && len(found) > 0 {
		t.Fatalf("the erased marker is in clear in the files of %q", found)
	}
	// The greps can fail: bob's words, not erased, are in clear in the read
	// models (which serve them), and in their files.
	if found := grepDatabase(t, pool, kept); !slices.Contains(found, "public.rm_messages") || slices.Contains(found, "public.tellyou_events") {
		t.Fatalf("the grep of the rows found the kept marker in %q, want the read models and not the log", found)
	}
	if found, read := grepRelationFiles(t, pool, kept); read && len(found) == 0 {
		t.Fatal("the grep of the files did not find the kept marker")
	}
}

// eventsSealed reports whether the log holds sealed content: the log is
// never rewritten, so only the shredded key makes erased content unreadable
// there.
func eventsSealed(t *testing.T, pool *pgxpool.Pool) bool {
	t.Helper()
	var sealed bool
	err := pool.QueryRow(context.Background(),
		`SELECT EXISTS (SELECT 1 FROM tellyou_events e WHERE e::text LIKE '%"sealed"%')`).Scan(&sealed)
	if err != nil {
		t.Fatal(err)
	}
	return sealed
}

// grepDatabase returns the tables of every schema with a row that holds s in
// clear in any column (rows as text, bytea columns as their bytes).
func grepDatabase(t *testing.T, pool *pgxpool.Pool, s string) []string {
	t.Helper()
	ctx := context.Background()
	rows, err := pool.Query(ctx, `SELECT table_schema, table_name FROM information_schema.tables
		WHERE table_type = 'BASE TABLE' AND table_schema NOT IN ('pg_catalog', 'information_schema')`)
	if err != nil {
		t.Fatal(err)
	}
	type table struct{ schema, name string }
	tables, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (table, error) {
		var tb table
		return tb, r.Scan(&tb.schema, &tb.name)
	})
	if err != nil {
		t.Fatal(err)
	}
	var found []string
	for _, tb := range tables {
		ident := pgx.Identifier{tb.schema, tb.name}.Sanitize()
		cond := []string{`strpos(t::text, $1) > 0`}
		cols, err := pool.Query(ctx, `SELECT column_name FROM information_schema.columns
			WHERE table_schema = $1 AND table_name = $2 AND data_type = 'bytea'`, tb.schema, tb.name)
		if err != nil {
			t.Fatal(err)
		}
		names, err := pgx.CollectRows(cols, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range names {
			cond = append(cond, `position(convert_to($1, 'UTF8') in t.`+pgx.Identifier{c}.Sanitize()+`) > 0`)
		}
		var hit bool
		if err := pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM `+ident+` t WHERE `+strings.Join(cond, " OR ")+`)`, s).Scan(&hit); err != nil {
			t.Fatalf("grep %s: %v", ident, err)
		}
		if hit {
			found = append(found, tb.schema+"."+tb.name)
		}
	}
	return found
}

// grepRelationFiles rewrites every table (VACUUM FULL, which leaves no dead
// row versions behind), forces a checkpoint, and reads the files of the
// database's relations under the data directory for s, when this process
// may read them (the server is local and runs as this user or is readable).
// It returns the relations whose files hold s, and whether it could read
// them.
func grepRelationFiles(t *testing.T, pool *pgxpool.Pool, s string) (found []string, read bool) {
	t.Helper()
	ctx := context.Background()
	for _, stmt := range []string{"VACUUM FULL", "CHECKPOINT"} {
		if _, err := pool.Exec(ctx, stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	var dataDir, dbOID string
	if err := pool.QueryRow(ctx, `SELECT current_setting('data_directory'), oid::text FROM pg_database
		WHERE datname = current_database()`).Scan(&dataDir, &dbOID); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(dataDir, "base", dbOID)
	if _, err := os.ReadDir(dir); err != nil {
		t.Logf("relation files not read (%v): the row grep stands alone", err)
		return nil, false
	}
	needle := []byte(s)
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		node, _, _ := strings.Cut(d.Name(), ".") // 16384, 16384.1
		node, _, _ = strings.Cut(node, "_")      // 16384_fsm, 16384_vm
		b, err := os.ReadFile(path)
		if err != nil {
			return nil // dropped by the checkpoint meanwhile
		}
		if bytes.Contains(b, needle) {
			var rel string
			_ = pool.QueryRow(ctx, `SELECT coalesce(pg_filenode_relation(0, $1::oid)::text, '?')`, node).Scan(&rel)
			t.Logf("%q is in clear in relation file %s (%s)", s, path, rel)
			found = append(found, rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return found, true
}

// search returns how many results user's search for text finds.
func search(t *testing.T, n *node, user, text string) int {
	t.Helper()
	var answer struct {
		Results []json.RawMessage `json:"results"`
	}
	if status := n.get(t, user, "/v1/search?q="+text, &answer); status != http.StatusOK {
		t.Fatalf("search status %d", status)
	}
	return len(answer.Results)
}

// dumpReadModels renders every row of the read-model tables in a fixed
// order.
func dumpReadModels(t *testing.T, url string) string {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	waitForProjections(t, conn)
	var sb strings.Builder
	for _, table := range []string{"rm_messages", "rm_reactions", "rm_sessions", "rm_members", "rm_search"} {
		rows, err := conn.Query(ctx, `SELECT r::text FROM `+table+` r ORDER BY 1`)
		if err != nil {
			t.Fatal(err)
		}
		all, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&sb, "-- %s: %d rows\n%s\n", table, len(all), strings.Join(all, "\n"))
	}
	return sb.String()
}

// waitForProjections waits until every projection has applied the whole log
// (each may trail the others).
func waitForProjections(t *testing.T, conn *pgx.Conn) {
	t.Helper()
	waitUntil(t, "the projections at the head of the log", func() bool {
		var behind bool
		if err := conn.QueryRow(context.Background(), `SELECT count(*) < $1 OR bool_or(c.position < h.position)
			FROM rm_checkpoints c, tellyou_log_head h`, len(projections.All())).Scan(&behind); err != nil {
			t.Fatal(err)
		}
		return !behind
	})
}

// waitUntil polls cond for up to 30 seconds.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("no %s after 30s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
