package httpapi_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/google/uuid"

	"github.com/tellyou/tellyou/events"
	"github.com/tellyou/tellyou/handlers/command"
	"github.com/tellyou/tellyou/handlers/handlerstest"
	"github.com/tellyou/tellyou/handlers/metrics"
	"github.com/tellyou/tellyou/handlers/transport/httpapi"
)

// jsonLog collects the JSON lines of a slog.JSONHandler; handlers log from
// many goroutines.
type jsonLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *jsonLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *jsonLog) text() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// logLine is one decoded log line, with the attributes the tests look at.
type logLine struct {
	Level         string `json:"level"`
	Msg           string `json:"msg"`
	CorrelationID string `json:"correlation_id"`
	Method        string `json:"method"`
	Path          string `json:"path"`
	Route         string `json:"route"`
	Status        int    `json:"status"`
}

func (l *jsonLog) lines(t *testing.T) []logLine {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []logLine
	sc := bufio.NewScanner(bytes.NewReader(l.buf.Bytes()))
	for sc.Scan() {
		var line logLine
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			t.Fatalf("log line %q is not JSON: %v", sc.Text(), err)
		}
		out = append(out, line)
	}
	return out
}

// about returns the lines logged with correlation id id.
func (l *jsonLog) about(t *testing.T, id string) []logLine {
	t.Helper()
	var out []logLine
	for _, line := range l.lines(t) {
		if line.CorrelationID == id {
			out = append(out, line)
		}
	}
	return out
}

// failingStore refuses every append, as a store with a broken disk would;
// reads go to the real store.
type failingStore struct{ command.EventStore }

var errDiskBroken = errors.New("disk broken")

func (failingStore) Append(context.Context, string, events.ExpectedVersion, []events.EventData) (events.AppendResult, error) {
	return events.AppendResult{}, errDiskBroken
}

// newLoggedAPI serves the API on cmds over the engine e, logging JSON to log
// at debug level.
func newLoggedAPI(t *testing.T, e *handlerstest.Engine, cmds *command.Commands, log *jsonLog) string {
	t.Helper()
	api, err := httpapi.New(httpapi.Config{
		Commands: cmds, Queries: e.Queries, Store: e.Store, Secret: e.Secret, Metrics: metrics.New(),
		Ready:  func(context.Context) error { return nil },
		Logger: slog.New(slog.NewJSONHandler(log, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(api)
	t.Cleanup(func() { api.CloseFeeds(); srv.Close() })
	return srv.URL
}

// postAs sends body with the given X-Request-Id (none when empty) and returns
// the answer's status, X-Request-Id and body.
func postAs(t *testing.T, url, token, requestID, body string) (int, string, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if requestID != "" {
		req.Header.Set("X-Request-Id", requestID)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(resp.Body); err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header.Get("X-Request-Id"), buf.Bytes()
}

// storedCorrelationIDs reads a stream back from the store and returns its
// events' correlation ids.
func storedCorrelationIDs(t *testing.T, store events.Store, stream string) []string {
	t.Helper()
	recs, err := store.ReadStream(t.Context(), stream, 1, 100)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, rec := range recs {
		var meta struct {
			CorrelationID string `json:"correlationId"`
		}
		if err := json.Unmarshal(rec.Metadata, &meta); err != nil {
			t.Fatalf("metadata %s: %v", rec.Metadata, err)
		}
		out = append(out, meta.CorrelationID)
	}
	return out
}

// wantAnswerLogged checks that exactly one "http request" line was logged
// with correlation id id, for the route and status given.
func wantAnswerLogged(t *testing.T, log *jsonLog, id, route string, status int) {
	t.Helper()
	var answers []logLine
	for _, line := range log.about(t, id) {
		if line.Msg == "http request" {
			answers = append(answers, line)
		}
	}
	if len(answers) != 1 {
		t.Fatalf("%d answer lines with correlation id %q, want 1; log:\n%s", len(answers), id, log.text())
	}
	if a := answers[0]; a.Route != route || a.Status != status || a.Level != "INFO" {
		t.Fatalf("answer line %+v, want route %q, status %d at INFO", a, route, status)
	}
}

// TestRequestCorrelationIDReachesEventsLogsAndAnswer posts requests that
// append events and checks that the correlation id in the events' metadata,
// read back from the store, is the one in the answer's X-Request-Id header
// and in the request's log lines, whether the client chose it or not; and
// that a failing request logs its failure under its own id.
func TestRequestCorrelationIDReachesEventsLogsAndAnswer(t *testing.T) {
	t.Parallel()
	e := handlerstest.New(t, handlerstest.Options{})
	log := &jsonLog{}
	url := newLoggedAPI(t, e, e.Commands, log)
	token := e.Token(t, "ann")

	create := func(t *testing.T, requestID string) (sessionID, answered string) {
		t.Helper()
		status, answered, body := postAs(t, url+"/v1/sessions", token, requestID, `{"title":"traced","members":["bob"]}`)
		if status != http.StatusCreated {
			t.Fatalf("create: %d %s", status, body)
		}
		var g struct {
			SessionID string `json:"sessionId"`
		}
		if err := json.Unmarshal(body, &g); err != nil || g.SessionID == "" {
			t.Fatalf("create answered %s: %v", body, err)
		}
		return g.SessionID, answered
	}

	t.Run("generated when the client sends none", func(t *testing.T) {
		first, id := create(t, "")
		if _, err := uuid.Parse(id); err != nil {
			t.Fatalf("X-Request-Id %q is not a fresh UUID: %v", id, err)
		}
		if got := storedCorrelationIDs(t, e.Store, first); len(got) != 1 || got[0] != id {
			t.Fatalf("stored correlation ids %q, want [%s] as answered", got, id)
		}
		wantAnswerLogged(t, log, id, "POST /v1/sessions", http.StatusCreated)

		second, other := create(t, "")
		if other == id {
			t.Fatalf("two requests got the same correlation id %s", id)
		}
		if got := storedCorrelationIDs(t, e.Store, second); len(got) != 1 || got[0] != other {
			t.Fatalf("stored correlation ids %q, want [%s] as answered", got, other)
		}
	})

	t.Run("the client's X-Request-Id", func(t *testing.T) {
		g, id := create(t, "req-7.a:b_c")
		if id != "req-7.a:b_c" {
			t.Fatalf("X-Request-Id answered %q, want the client's", id)
		}
		if got := storedCorrelationIDs(t, e.Store, g); len(got) != 1 || got[0] != id {
			t.Fatalf("stored correlation ids %q, want [%s]", got, id)
		}
		wantAnswerLogged(t, log, id, "POST /v1/sessions", http.StatusCreated)

		// Adding members appends to the same stream under the new request's id.
		status, added, body := postAs(t, url+"/v1/sessions/"+g+"/members", token, "req-8", `{"add":["carl"]}`)
		if status != http.StatusOK || added != "req-8" {
			t.Fatalf("add member: %d, X-Request-Id %q, %s", status, added, body)
		}
		if got := storedCorrelationIDs(t, e.Store, g); len(got) != 2 || got[1] != "req-8" {
			t.Fatalf("stored correlation ids %q, want [%s req-8]", got, id)
		}
		wantAnswerLogged(t, log, "req-8", "POST /v1/sessions/{id}/members", http.StatusOK)
	})

	t.Run("replaced when the client's is unusable", func(t *testing.T) {
		for _, bad := range []string{"has spaces", strings.Repeat("x", 65), "quote\"d"} {
			g, id := create(t, bad)
			if _, err := uuid.Parse(id); err != nil {
				t.Fatalf("X-Request-Id %q answered for the unusable %q, want a fresh UUID", id, bad)
			}
			if got := storedCorrelationIDs(t, e.Store, g); len(got) != 1 || got[0] != id {
				t.Fatalf("stored correlation ids %q, want [%s] as answered", got, id)
			}
			if lines := log.about(t, bad); len(lines) != 0 {
				t.Fatalf("the unusable X-Request-Id %q reached the log: %+v", bad, lines)
			}
		}
	})

	t.Run("a refused request", func(t *testing.T) {
		status, id, body := postAs(t, url+"/v1/sessions", token, "req-bad-json", `{"title":`)
		if status != http.StatusBadRequest || id != "req-bad-json" {
			t.Fatalf("malformed body: %d, X-Request-Id %q, %s", status, id, body)
		}
		wantAnswerLogged(t, log, id, "POST /v1/sessions", http.StatusBadRequest)
	})

	t.Run("a failing request", func(t *testing.T) {
		broken, err := command.NewCommands(command.Config{Store: failingStore{e.Store}, History: e.RM, Policy: e.Policy})
		if err != nil {
			t.Fatal(err)
		}
		brokenURL := newLoggedAPI(t, e, broken, log)
		for _, sent := range []string{"", "req-doomed"} {
			status, id, body := postAs(t, brokenURL+"/v1/sessions", token, sent, `{"title":"lost","members":["bob"]}`)
			if status != http.StatusInternalServerError || id == "" || (sent != "" && id != sent) {
				t.Fatalf("append on a broken store: %d, X-Request-Id %q (sent %q), %s", status, id, sent, body)
			}
			if strings.Contains(string(body), errDiskBroken.Error()) {
				t.Fatalf("the answer shows the internal error: %s", body)
			}
			var failed []logLine
			for _, line := range log.about(t, id) {
				if line.Msg == "http request failed" {
					failed = append(failed, line)
				}
			}
			if len(failed) != 1 || failed[0].Level != "ERROR" || failed[0].Path != "/v1/sessions" || failed[0].Method != http.MethodPost {
				t.Fatalf("failure lines with correlation id %q: %+v, want one ERROR for POST /v1/sessions; log:\n%s",
					id, failed, log.text())
			}
			wantAnswerLogged(t, log, id, "POST /v1/sessions", http.StatusInternalServerError)
		}
	})
}

// TestProbeAnswersCarryCorrelationIDAtDebug checks that operational endpoints
// answer with an X-Request-Id too and log their answers at debug level only.
func TestProbeAnswersCarryCorrelationIDAtDebug(t *testing.T) {
	t.Parallel()
	e := handlerstest.New(t, handlerstest.Options{})
	log := &jsonLog{}
	url := newLoggedAPI(t, e, e.Commands, log)
	for _, path := range []string{"/healthz", "/readyz", "/metrics"} {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("X-Request-Id", "probe"+strings.ReplaceAll(path, "/", "-"))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		id := resp.Header.Get("X-Request-Id")
		if resp.StatusCode != http.StatusOK || id != req.Header.Get("X-Request-Id") {
			t.Fatalf("GET %s: %d, X-Request-Id %q", path, resp.StatusCode, id)
		}
		lines := log.about(t, id)
		if len(lines) != 1 || lines[0].Msg != "http request" || lines[0].Level != "DEBUG" || lines[0].Route != "GET "+path {
			t.Fatalf("GET %s logged %+v, want one debug answer line", path, lines)
		}
	}
}
