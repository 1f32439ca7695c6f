package httpapi_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tellyou/tellyou/events"
)

// feedStream reads Server-Sent Events from an open feed.
type feedStream struct {
	body   io.ReadCloser
	lines  *bufio.Reader
	cancel context.CancelFunc
}

// sseEvent is one event of the stream, its comment lines left out.
type sseEvent struct {
	id   int64
	data auditEvent
}

// openFeed connects to the feed as an auditor and checks the answer's head.
func (s *server) openFeed(t *testing.T, query, lastEventID string) *feedStream {
	t.Helper()
	resp, cancel := s.feedRequest(t, s.Token(t, "auditor-1", "auditor"), query, lastEventID)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" {
		body, _ := io.ReadAll(resp.Body)
		t.Fatalf("feed%s: %d %s %s", query, resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	f := &feedStream{body: resp.Body, lines: bufio.NewReader(resp.Body), cancel: cancel}
	t.Cleanup(f.close)
	return f
}

func (s *server) feedRequest(t *testing.T, token, query, lastEventID string) (*http.Response, context.CancelFunc) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
	r, err := http.NewRequestWithContext(ctx, http.MethodGet, s.url+"/v1/feed"+query, nil)
	if err != nil {
		t.Fatal(err)
	}
	r.Header.Set("Authorization", "Bearer "+token)
	if lastEventID != "" {
		r.Header.Set("Last-Event-ID", lastEventID)
	}
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		cancel()
		t.Fatalf("feed%s: %v", query, err)
	}
	return resp, cancel
}

func (f *feedStream) close() {
	f.cancel()
	_ = f.body.Close()
}

// line returns the next line without its line break.
func (f *feedStream) line(t *testing.T) string {
	t.Helper()
	l, err := f.lines.ReadString('\n')
	if err != nil {
		t.Fatalf("read feed: %v (after %q)", err, l)
	}
	return strings.TrimSuffix(l, "\n")
}

// next returns the next event, skipping comments.
func (f *feedStream) next(t *testing.T) sseEvent {
	t.Helper()
	var ev sseEvent
	var fields int
	for {
		l := f.line(t)
		switch {
		case l == "" && fields == 0:
			continue // the end of a comment block
		case l == "":
			if fields != 2 {
				t.Fatalf("event with %d of its id and data lines", fields)
			}
			return ev
		case strings.HasPrefix(l, ":"):
			continue
		case strings.HasPrefix(l, "id: "):
			id, err := strconv.ParseInt(strings.TrimPrefix(l, "id: "), 10, 64)
			if err != nil {
				t.Fatalf("bad id line %q", l)
			}
			ev.id = id
			fields++
		case strings.HasPrefix(l, "data: "):
			if err := json.Unmarshal([]byte(strings.TrimPrefix(l, "data: ")), &ev.data); err != nil {
				t.Fatalf("bad data line %q: %v", l, err)
			}
			fields++
		default:
			t.Fatalf("unexpected feed line %q", l)
		}
	}
}

// logAfter returns the first n events of the global log after position p, as
// the store shows them. The store shows an event only once every older write
// transaction on the server has ended (other tests' too), so it waits for them.
func (s *server) logAfter(t *testing.T, p int64, n int) []events.RecordedEvent {
	t.Helper()
	deadline := time.Now().Add(requestTimeout)
	for {
		recs, err := s.Store.ReadAll(context.Background(), events.Position(p), 1000)
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) >= n {
			return recs[:n]
		}
		if time.Now().After(deadline) {
			t.Fatalf("the log shows %d events after %d, want %d", len(recs), p, n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// wantEvents reads len(want) events and checks they are want, in order.
func (f *feedStream) wantEvents(t *testing.T, want []events.RecordedEvent) {
	t.Helper()
	for i, rec := range want {
		ev := f.next(t)
		if ev.id != int64(rec.Position) || ev.data.GlobalPosition != int64(rec.Position) || ev.data.StreamID != rec.StreamID ||
			ev.data.Version != rec.Version || ev.data.Type != rec.Type || string(ev.data.Data) != string(rec.Data) {
			t.Fatalf("feed event %d = id %d %+v; want %s@%d (%s) at %d", i, ev.id, ev.data, rec.StreamID, rec.Version, rec.Type, rec.Position)
		}
		wantKeys(t, ev.data.Metadata, "eventId", "correlationId", "causationId", "actor", "occurredAt", "schemaVersion")
	}
}

func TestFeedHistoryLiveAndResume(t *testing.T) {
	t.Parallel()
	s := newServer(t, serverOptions{feedBatch: 2}) // batches smaller than the history
	d := s.sendTo(t, "ann", "bob", "1").SessionID
	s.send(t, "bob", d, "2")
	g := s.group(t, "cat", "g", "ann")
	s.send(t, "cat", g, "3")
	history := s.logAfter(t, 0, 5)

	feed := s.openFeed(t, "?after=0", "")
	feed.wantEvents(t, history)
	// Live: appended while the client is connected.
	s.send(t, "ann", d, "live")
	live := s.logAfter(t, int64(history[4].Position), 1)
	feed.wantEvents(t, live)
	lastSeen := int64(live[0].Position)
	feed.close()

	// Missed while disconnected, then resumed with Last-Event-ID, which wins
	// over after: no repeats, no gaps.
	s.send(t, "bob", d, "missed 1")
	s.send(t, "cat", g, "missed 2")
	resumed := s.openFeed(t, "?after=0", strconv.FormatInt(lastSeen, 10))
	missed := s.logAfter(t, lastSeen, 2)
	resumed.wantEvents(t, missed)
	s.ack(t, "ann", d, 4, "read")
	resumed.wantEvents(t, s.logAfter(t, int64(missed[1].Position), 1))

	// after alone starts in the middle of the log.
	mid := s.openFeed(t, "?after="+strconv.FormatInt(int64(history[2].Position), 10), "")
	mid.wantEvents(t, s.logAfter(t, int64(history[2].Position), 4))

	// No token: 401; a non-auditor: 403.
	resp, cancel := s.feedRequest(t, "forged", "", "")
	resp.Body.Close()
	cancel()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("feed with a bad token: %d", resp.StatusCode)
	}
}

func TestFeedRefusals(t *testing.T) {
	t.Parallel()
	s := newServer(t, serverOptions{})
	wantError(t, s.get(t, "ann", "/v1/feed"), http.StatusForbidden, "forbidden", "auditor")
	wantError(t, s.get(t, "ann", "/v1/feed?after=x"), http.StatusForbidden, "forbidden")
	for _, q := range []string{"after=x", "after=-1", "after=", "after=1.5", "after=99999999999999999999"} {
		wantError(t, s.get(t, "auditor-1", "/v1/feed?"+q), http.StatusBadRequest, "bad_request", "after")
	}
	for _, id := range []string{"x", "-1", "1.5", "0x10", "7 8"} {
		a := s.do(t, request{method: http.MethodGet, path: "/v1/feed?after=0", token: s.Token(t, "auditor-1", "auditor"),
			header: map[string]string{"Last-Event-ID": id}})
		wantError(t, a, http.StatusBadRequest, "bad_request", "Last-Event-ID")
	}
}

func TestFeedKeepAliveAndShutdown(t *testing.T) {
	t.Parallel()
	s := newServer(t, serverOptions{feedKeepAlive: 10 * time.Millisecond})
	feed := s.openFeed(t, "", "")
	for feed.line(t) != ": keep-alive" {
	}
	s.api.CloseFeeds()
	for {
		_, err := feed.lines.ReadString('\n')
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("the feed ended with %v, want its end (EOF)", err)
		}
	}
	wantError(t, s.get(t, "auditor-1", "/v1/feed"), http.StatusServiceUnavailable, "unavailable")
	s.api.CloseFeeds() // a second call is harmless
	if a := s.get(t, "", "/healthz"); a.status != http.StatusOK {
		t.Fatalf("healthz after closing the feeds: %d", a.status)
	}
}
