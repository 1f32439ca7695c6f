package chatclient_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// overloadFront is a fake of an overloaded server, put in front of the real
// one (the real server cannot be overloaded on demand). It passes HTTP
// requests and WebSocket frames through both ways, except that it answers
// the first frames of the kinds in refuse itself, as the server does when it
// is overloaded (nothing stored, retryAfterMs), and records the frames of
// those kinds it refused and the ones it passed on.
type overloadFront struct {
	srv          *httptest.Server
	upstream     string // ws://host/v1/ws of the real server
	http         *httputil.ReverseProxy
	retryAfterMs int64
	wg           sync.WaitGroup

	mu      sync.Mutex
	refuse  map[string]int // frame type -> how many to refuse
	refused []seenFrame
	passed  []seenFrame
}

// seenFrame is a client frame the fake refused or passed on.
type seenFrame struct {
	Type            string `json:"type"`
	ID              string `json:"id"`
	ClientMessageID string `json:"clientMessageId"`
	Content         string `json:"content"`
	Seq             int64  `json:"seq"`
	at              time.Time
}

func startOverloadFront(t *testing.T, base string, retryAfterMs int64, refuse map[string]int) *overloadFront {
	t.Helper()
	target, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	f := &overloadFront{upstream: "ws://" + target.Host + "/v1/ws", http: httputil.NewSingleHostReverseProxy(target),
		retryAfterMs: retryAfterMs, refuse: refuse}
	f.srv = httptest.NewServer(f)
	t.Cleanup(func() {
		f.srv.Close()
		f.wg.Wait()
	})
	return f
}

// Base is the fake's HTTP base URL.
func (f *overloadFront) Base() string { return f.srv.URL }

func (f *overloadFront) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/v1/ws" {
		f.http.ServeHTTP(w, r)
		return
	}
	f.wg.Add(1)
	defer f.wg.Done()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	server, _, err := websocket.Dial(ctx, f.upstream, &websocket.DialOptions{HTTPHeader: http.Header{"Authorization": r.Header["Authorization"]}})
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer server.CloseNow()
	client, err := websocket.Accept(w, r, nil)
	if err != nil {
		return
	}
	defer client.CloseNow()
	server.SetReadLimit(16 << 20)
	client.SetReadLimit(16 << 20)
	var pipes sync.WaitGroup
	defer pipes.Wait()
	defer cancel()
	pipes.Go(func() {
		defer cancel()
		for {
			typ, data, err := server.Read(ctx)
			if err != nil || client.Write(ctx, typ, data) != nil {
				return
			}
		}
	})
	for {
		typ, data, err := client.Read(ctx)
		if err != nil {
			return
		}
		if answer := f.answer(data); answer != nil {
			if client.Write(ctx, websocket.MessageText, answer) != nil {
				return
			}
			continue
		}
		if server.Write(ctx, typ, data) != nil {
			return
		}
	}
}

// answer returns the overloaded answer to a client frame the fake refuses,
// or nil to pass it on.
func (f *overloadFront) answer(data []byte) []byte {
	var frame seenFrame
	if json.Unmarshal(data, &frame) != nil {
		return nil
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, watched := f.refuse[frame.Type]; !watched {
		return nil
	}
	frame.at = time.Now()
	if f.refuse[frame.Type] == 0 {
		f.passed = append(f.passed, frame)
		return nil
	}
	f.refuse[frame.Type]--
	f.refused = append(f.refused, frame)
	answer, _ := json.Marshal(map[string]any{"type": "error", "id": frame.ID, "clientMessageId": frame.ClientMessageID,
		"code": "overloaded", "message": "the server is overloaded: nothing was stored; retry after retryAfterMs",
		"retryAfterMs": f.retryAfterMs})
	return answer
}

// seen returns the frames of a type the fake refused and passed on, in order.
func (f *overloadFront) seen(typ string) (refused, passed []seenFrame) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, s := range f.refused {
		if s.Type == typ {
			refused = append(refused, s)
		}
	}
	for _, s := range f.passed {
		if s.Type == typ {
			passed = append(passed, s)
		}
	}
	return refused, passed
}

func TestOverloadedServerGetsTheSameSendAgainInOrderOnce(t *testing.T) {
	t.Parallel()
	server := startServer(t, "")
	// Three refusals of 1.5 s each: the send waits past the 3 s after which
	// the client says the server is busy.
	front := startOverloadFront(t, server.Base, 1500, map[string]int{"send": 3, "ack": 1})
	alice := openTerminal(t, front.Base(), "alice")
	bob := openTerminal(t, server.Base, "bob")

	alice.typeLine("/to bob")
	alice.waitFor("[bob] d:alice:bob: new chat")
	alice.typeLine("sent while the server was busy")
	alice.typeLine("typed just after it")
	alice.waitFor("the server is busy; retrying")
	alice.waitFor("[bob] alice: typed just after it")
	bob.waitFor("[alice] alice: typed just after it")
	// Alice's acks go through the fake too: the first one is refused and
	// sent again, so Bob still learns that she read his answer.
	bob.typeLine("/to alice")
	bob.typeLine("got both")
	alice.waitFor("[bob] bob: got both")
	bob.waitFor("[alice] alice read up to 3")

	inOrderOnce(t, alice, "[bob] alice: sent while the server was busy", "[bob] alice: typed just after it", "[bob] bob: got both")
	inOrderOnce(t, bob, "[alice] alice: sent while the server was busy", "[alice] alice: typed just after it", "[alice] bob: got both")
	if n := alice.count("the server is busy; retrying"); n != 1 {
		t.Errorf("alice was told %d times that the server is busy, want once", n)
	}
	if screen := alice.screen.String(); strings.Contains(screen, "error:") {
		t.Errorf("alice was shown an error:\n%s", screen)
	}

	refused, passed := front.seen("send")
	if len(refused) != 3 || len(passed) != 2 {
		t.Fatalf("the server was sent %d sends after %d refusals, want 2 after 3: %+v %+v", len(passed), len(refused), refused, passed)
	}
	if passed[0].Content != "sent while the server was busy" || passed[1].Content != "typed just after it" {
		t.Errorf("the server got the sends %q, %q; want them in the order typed", passed[0].Content, passed[1].Content)
	}
	for i, r := range refused {
		if r.ID != passed[0].ID || r.ClientMessageID != passed[0].ClientMessageID || r.Content != passed[0].Content {
			t.Errorf("refused send %d is %+v, but the frame taken is %+v: want the same frame again", i, r, passed[0])
		}
		next := passed[0].at
		if i+1 < len(refused) {
			next = refused[i+1].at
		}
		if gap := next.Sub(r.at); gap < 1500*time.Millisecond {
			t.Errorf("sent again %v after refusal %d, sooner than its retryAfterMs (1.5 s)", gap, i)
		}
	}
	refusedAcks, passedAcks := front.seen("ack")
	if len(refusedAcks) != 1 || len(passedAcks) == 0 || passedAcks[0].ID != refusedAcks[0].ID || passedAcks[0].Seq != refusedAcks[0].Seq {
		t.Errorf("acks refused %+v, passed on %+v: want the refused ack sent again first", refusedAcks, passedAcks)
	}
}
