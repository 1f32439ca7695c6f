package eventview_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/tellyou/tellyou/cmd/tellyou/servertest"
	"github.com/tellyou/tellyou/events"
	"github.com/tellyou/tellyou/events/pgstore"
	"github.com/tellyou/tellyou/events/pgstore/pgtest"
	"github.com/tellyou/tellyou/handlers/eventview"
	"github.com/tellyou/tellyou/handlers/transport/auth"
)

// binary is the tellyou binary, built once by TestMain.
var binary string

func TestMain(m *testing.M) { os.Exit(servertest.Main(m, &binary, false)) }

const serverSecret = "eventview-test-secret-0123456789abcdef"

// TestServerShowsEventsAsTheView checks that the running server's feed
// (GET /v1/feed) and audit endpoint carry, byte for byte, what Marshal
// renders for the same recorded events, including data that was appended
// with spaces and characters JSON encoders like to escape.
func TestServerShowsEventsAsTheView(t *testing.T) {
	t.Parallel()
	dbURL := pgtest.NewDatabase(t)
	node := servertest.Start(t, binary, "eventview", "TELLYOU_DATABASE_URL="+dbURL, "TELLYOU_JWT_SECRET="+serverSecret)

	ctx, cancel := context.WithTimeout(context.Background(), 2*patience)
	defer cancel()
	pool := pgtest.OpenPool(t, dbURL, 2)
	store, err := pgstore.New(ctx, pool, pgstore.Config{Committers: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()

	const session = "d:ann:bob"
	appended := appendAwkwardSession(ctx, t, store, session)
	var recs []events.RecordedEvent
	servertest.WaitFor(t, patience, "the appended events to be final in the log", func() bool {
		recs, err = store.ReadAll(ctx, 0, 100)
		if err != nil {
			t.Fatal(err)
		}
		return len(recs) == appended
	})

	token, err := auth.Mint([]byte(serverSecret), auth.Principal{UserID: "auditor-1", Roles: []string{auth.RoleAuditor}}, time.Now(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	ids, data := readFeed(ctx, t, node.Base+"/v1/feed?after=0", token, len(recs))
	audit := readAudit(ctx, t, node.Base+"/v1/audit/sessions/"+url.PathEscape(session)+"/events", token)
	if len(audit) != len(recs) {
		t.Fatalf("audit shows %d events, the log holds %d", len(audit), len(recs))
	}
	for i, r := range recs {
		want, err := eventview.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		if ids[i] != strconv.FormatInt(int64(r.Position), 10) {
			t.Errorf("feed event %d: id %s, want position %d", i, ids[i], r.Position)
		}
		if data[i] != string(want) {
			t.Errorf("feed event %d:\n got %s\nwant %s", i, data[i], want)
		}
		if string(audit[i]) != string(want) {
			t.Errorf("audit event %d:\n got %s\nwant %s", i, audit[i], want)
		}
	}
}

// appendAwkwardSession appends a direct session whose second message was
// written by hand: spaced-out JSON with <, >, &, U+2028 and non-ASCII text in
// it. It returns how many events it appended.
func appendAwkwardSession(ctx context.Context, t *testing.T, store events.Store, session string) int {
	t.Helper()
	meta := events.Metadata{CorrelationID: "c-1", CausationID: "f-1", Actor: "ann", OccurredAt: 1700000000000}
	var first []events.EventData
	for _, p := range []events.Payload{
		events.SessionCreated{SessionID: session, Kind: events.KindDirect, Members: []string{"ann", "bob"}, CreatedAt: 1700000000000},
		events.MessageSent{SessionID: session, MessageID: uuid.NewString(), Seq: 1, SenderID: "ann", MessageType: 1,
			Content: "plain <i>encoded</i> & escaped", ClientMessageID: "c1", ServerTimestamp: 1700000000000, AdjustedTimestamp: 1700000000000},
	} {
		ed, err := events.Encode(events.Envelope{Meta: meta, Payload: p})
		if err != nil {
			t.Fatal(err)
		}
		first = append(first, ed)
	}
	if _, err := store.Append(ctx, session, events.NoStream, first); err != nil {
		t.Fatal(err)
	}
	id := uuid.New()
	byHand := events.EventData{EventID: id, Type: events.TypeMessageSent,
		Data: fmt.Appendf(nil, `{ "sessionId" : %q, "messageId": %q, "seq": 2, "senderId": "bob", "messageType": 1,
			"content": "<b>a & b</b> \u2028 héllo 😀", "clientMessageId": "c2", "clientTimestamp": 0,
			"serverTimestamp": 1700000000500, "adjustedTimestamp": 1700000000500 }`, session, uuid.NewString()),
		Metadata: fmt.Appendf(nil, `{"eventId": %q, "correlationId": "c-2", "causationId": "f-2", "actor": "bob",
			"occurredAt": 1700000000500, "schemaVersion": 1}`, id),
	}
	if _, err := store.Append(ctx, session, 2, []events.EventData{byHand}); err != nil {
		t.Fatal(err)
	}
	return 3
}

// readFeed reads n events from a Server-Sent Events feed and returns their
// ids and data lines.
func readFeed(ctx context.Context, t *testing.T, feedURL, token string, n int) (ids, data []string) {
	t.Helper()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, feedURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(resp.Body)
		t.Fatalf("GET %s: %s %s", feedURL, resp.Status, body)
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for len(data) < n && sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "id: "):
			ids = append(ids, strings.TrimPrefix(line, "id: "))
		case strings.HasPrefix(line, "data: "):
			data = append(data, strings.TrimPrefix(line, "data: "))
		}
	}
	if len(data) < n || len(ids) < n {
		t.Fatalf("feed ended after %d ids and %d events, want %d: %v", len(ids), len(data), n, sc.Err())
	}
	return ids, data
}

// readAudit returns the events of an audit answer as the server wrote them.
func readAudit(ctx context.Context, t *testing.T, auditURL, token string) []json.RawMessage {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, auditURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s %s", auditURL, resp.Status, body)
	}
	var answer struct {
		Events []json.RawMessage `json:"events"`
	}
	if err := json.Unmarshal(body, &answer); err != nil {
		t.Fatalf("decode audit answer %s: %v", body, err)
	}
	return answer.Events
}

// patience bounds every wait of these tests. Readers of the global log wait
// for the oldest write transaction on the whole PostgreSQL server, which
// other databases' clients may hold open for a while.
const patience = 90 * time.Second
