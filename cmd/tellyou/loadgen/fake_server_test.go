package loadgen_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/tellyou/tellyou/handlers/transport/auth"
)

// fakeOverloadingServer is a fake TellYou server, for the tests of how the
// load tool honours `overloaded`: it speaks just enough of the WebSocket
// protocol for the direct scenario (send, ack, pushes), refuses the first
// attempt of every refuseEvery-th message of each connection as overloaded,
// pushes every pushTwiceEvery-th stored message twice and never pushes the
// skipPush-th. It records what each connection sent. Everything else in
// these tests runs against the real server.
type fakeOverloadingServer struct {
	t              *testing.T
	retryAfter     time.Duration
	refuseEvery    int
	pushTwiceEvery int
	skipPush       int
	srv            *httptest.Server

	mu      sync.Mutex
	conns   map[string]*fakeConn // user -> connection
	seqs    map[string]int64     // session -> last seq
	stored  int                  // messages stored, all connections
	refused int
}

// fakeConn is what one connection sent the fake.
type fakeConn struct {
	// ws is set, and upgraded closed, once the upgrade is answered; the
	// connection is registered before, as the real server does, so that a
	// client that has seen its connection open gets every later push.
	ws       *websocket.Conn
	upgraded chan struct{}
	first    []string          // clientMessageIds, in the order of their first attempts
	resends  []string          // clientMessageIds of the resends, in arrival order
	stored   []string          // clientMessageIds, in the order they were stored
	frames   map[string][]byte // clientMessageId -> the first attempt's frame
	refused  map[string]time.Time
	isDone   map[string]bool
}

func startFakeOverloadingServer(t *testing.T, retryAfter time.Duration) *fakeOverloadingServer {
	f := &fakeOverloadingServer{t: t, retryAfter: retryAfter, refuseEvery: 3, pushTwiceEvery: 5, skipPush: 7,
		conns: map[string]*fakeConn{}, seqs: map[string]int64{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprint(w, "process_cpu_seconds_total 1\nprocess_resident_memory_bytes 1048576\n")
	})
	mux.HandleFunc("GET /v1/ws", f.serveWS)
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeOverloadingServer) addr() string { return strings.TrimPrefix(f.srv.URL, "http://") }

func (f *fakeOverloadingServer) serveWS(w http.ResponseWriter, r *http.Request) {
	p, err := auth.FromRequest(r, []byte(testSecret), time.Now())
	if err != nil {
		http.Error(w, err.Error(), http.StatusUnauthorized)
		return
	}
	c := &fakeConn{upgraded: make(chan struct{}), frames: map[string][]byte{}, refused: map[string]time.Time{}, isDone: map[string]bool{}}
	f.mu.Lock()
	f.conns[p.UserID] = c
	f.mu.Unlock()
	ws, err := websocket.Accept(w, r, nil)
	if err != nil {
		return
	}
	c.ws = ws
	close(c.upgraded)
	ctx := r.Context()
	for {
		_, data, err := ws.Read(ctx)
		if err != nil {
			return
		}
		var frame struct {
			Type            string          `json:"type"`
			ID              string          `json:"id"`
			ToUserID        string          `json:"toUserId"`
			ClientMessageID string          `json:"clientMessageId"`
			Ext             json.RawMessage `json:"ext"`
		}
		if err := json.Unmarshal(data, &frame); err != nil {
			f.t.Errorf("the fake got an undecodable frame %q", data)
			return
		}
		switch frame.Type {
		case "ack":
			f.write(ctx, ws, map[string]any{"type": "ok", "id": frame.ID})
		case "send":
			f.send(ctx, p.UserID, c, data, frame.ID, frame.ToUserID, frame.ClientMessageID, frame.Ext)
		}
	}
}

// send refuses, or stores and pushes, one send frame.
func (f *fakeOverloadingServer) send(ctx context.Context, user string, c *fakeConn, data []byte, id, to, cmid string, ext json.RawMessage) {
	f.mu.Lock()
	first, seen := c.frames[cmid]
	switch {
	case !seen:
		c.first = append(c.first, cmid)
		c.frames[cmid] = data
	case string(first) != string(data):
		f.t.Errorf("%s resent %s as %s, not as its first attempt %s", user, cmid, data, first)
	}
	if seen {
		c.resends = append(c.resends, cmid)
		if at := c.refused[cmid]; time.Since(at) < f.retryAfter {
			f.t.Errorf("%s resent %s %v after its refusal, before retryAfterMs (%v)", user, cmid, time.Since(at), f.retryAfter)
		}
	}
	if !seen && len(c.first)%f.refuseEvery == 0 {
		c.refused[cmid] = time.Now()
		f.refused++
		f.mu.Unlock()
		f.write(ctx, c.ws, map[string]any{"type": "error", "id": id, "clientMessageId": cmid, "code": "overloaded",
			"message": "the server is overloaded", "retryAfterMs": f.retryAfter.Milliseconds()})
		return
	}
	if c.isDone[cmid] {
		f.t.Errorf("%s sent %s again after it was stored", user, cmid)
	}
	c.isDone[cmid] = true
	c.stored = append(c.stored, cmid)
	session := "d:" + min(user, to) + ":" + max(user, to)
	f.seqs[session]++
	seq := f.seqs[session]
	f.stored++
	n := f.stored
	peer := f.conns[to]
	f.mu.Unlock()
	f.write(ctx, c.ws, map[string]any{"type": "sendAck", "id": id, "clientMessageId": cmid, "sessionId": session, "seq": seq})
	if peer == nil || n == f.skipPush {
		return
	}
	push := map[string]any{"type": "message", "message": map[string]any{"sessionId": session, "seq": seq, "senderId": user, "ext": ext}}
	<-peer.upgraded
	f.write(ctx, peer.ws, push)
	if n%f.pushTwiceEvery == 0 {
		f.write(ctx, peer.ws, push)
	}
}

func (f *fakeOverloadingServer) write(ctx context.Context, ws *websocket.Conn, v any) {
	data, err := json.Marshal(v)
	if err != nil {
		f.t.Error(err)
		return
	}
	_ = ws.Write(ctx, websocket.MessageText, data)
}

// snapshot returns copies of every connection's records.
func (f *fakeOverloadingServer) snapshot() (map[string]fakeConn, int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string]fakeConn{}
	for u, c := range f.conns {
		out[u] = fakeConn{first: slices.Clone(c.first), resends: slices.Clone(c.resends), stored: slices.Clone(c.stored)}
	}
	return out, f.refused
}
