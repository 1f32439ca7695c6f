package webclient_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tellyou/tellyou/handlers/handlerstest"
	"github.com/tellyou/tellyou/handlers/metrics"
	"github.com/tellyou/tellyou/handlers/transport/httpapi"
	"github.com/tellyou/tellyou/handlers/transport/webclient"
)

// server is the web client in front of the real HTTP API, on a real engine
// (PostgreSQL, projections), over loopback HTTP.
type server struct {
	*handlerstest.Engine
	url string
}

func newServer(t *testing.T, devLogin bool) *server {
	t.Helper()
	e := handlerstest.New(t, handlerstest.Options{RealClock: true})
	api, err := httpapi.New(httpapi.Config{
		Commands: e.Commands, Queries: e.Queries, Store: e.Store, Secret: e.Secret, Metrics: metrics.New(),
		Ready: func(context.Context) error { return nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	web, err := webclient.New(webclient.Config{
		API: api, DevLogin: devLogin, Secret: e.Secret, RecallWindow: 90 * time.Second, EditWindow: 10 * time.Minute,
		Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(web)
	t.Cleanup(func() { api.CloseFeeds(); srv.Close() })
	return &server{Engine: e, url: srv.URL}
}

// answer is one HTTP answer, read in full.
type answer struct {
	status int
	header http.Header
	body   []byte
}

func (s *server) do(t *testing.T, method, path, body string, header ...string) answer {
	t.Helper()
	var in io.Reader
	if body != "" {
		in = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, s.url+path, in)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", method, path, err)
	}
	return answer{status: resp.StatusCode, header: resp.Header, body: data}
}

// wireError decodes an error answer and checks its status, JSON type and
// code, and that its message holds every word.
func wireError(t *testing.T, what string, a answer, status int, code string, words ...string) string {
	t.Helper()
	if a.status != status {
		t.Fatalf("%s: status %d, want %d (body %s)", what, a.status, status, a.body)
	}
	if ct := a.header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("%s: Content-Type %q, want application/json", what, ct)
	}
	var e struct{ Code, Message string }
	if err := json.Unmarshal(a.body, &e); err != nil {
		t.Fatalf("%s: body %q is not a JSON error: %v", what, a.body, err)
	}
	if e.Code != code {
		t.Fatalf("%s: code %q, want %q (message %q)", what, e.Code, code, e.Message)
	}
	for _, w := range words {
		if !strings.Contains(e.Message, w) {
			t.Fatalf("%s: message %q does not mention %q", what, e.Message, w)
		}
	}
	return e.Message
}
