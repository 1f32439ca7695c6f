package loadgen

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
)

// device is one connection slot of a user: it keeps its place in its
// sessions (the highest seq it holds) across reconnections.
type device struct {
	user    string
	peer    string // toUserId for direct sends; empty in a group
	session string // the session it sends to and acks
	rec     *recorder
	content string
	slots   chan struct{} // one per unanswered send
	frames  atomic.Int64
	sends   atomic.Int64

	mu      sync.Mutex
	pending map[string]time.Time // send frame id -> when written
	latest  map[string]int64     // session -> highest seq held
	acked   map[string]int64     // session -> highest seq acked as received

	ws      *websocket.Conn
	stop    context.CancelFunc
	closing atomic.Bool // set before the run closes the connection itself
	reader  sync.WaitGroup
}

func newDevice(user, peer, session string, inFlight int, content string, rec *recorder) *device {
	return &device{user: user, peer: peer, session: session, rec: rec, content: content,
		slots: make(chan struct{}, inFlight), pending: map[string]time.Time{},
		latest: map[string]int64{}, acked: map[string]int64{}}
}

func (d *device) frameID(prefix string) string {
	return prefix + strconv.FormatInt(d.frames.Add(1), 10)
}

// connect dials the server and starts the reader, which runs until close.
func (d *device) connect(ctx context.Context, client *http.Client, url, token string) error {
	dialCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(dialCtx, url, &websocket.DialOptions{HTTPClient: client,
		HTTPHeader: http.Header{"Authorization": []string{"Bearer " + token}}})
	if err != nil {
		return err
	}
	ws.SetReadLimit(4 << 20)
	connCtx, stop := context.WithCancel(context.Background())
	d.ws, d.stop = ws, stop
	d.closing.Store(false)
	d.rec.connOpened()
	d.reader.Add(1)
	go func() {
		defer d.reader.Done()
		d.read(connCtx, ws)
	}()
	return nil
}

// close ends the connection: gracefully with a close frame, or dropped
// without one. It waits for the reader, and counts sends left unanswered.
func (d *device) close(graceful bool) {
	if d.ws == nil {
		return
	}
	d.closing.Store(true)
	if graceful {
		_ = d.ws.Close(websocket.StatusNormalClosure, "bench done")
	}
	_ = d.ws.CloseNow()
	d.stop()
	d.reader.Wait()
	d.ws = nil
	d.mu.Lock()
	for id := range d.pending {
		delete(d.pending, id)
		d.rec.fail("send:unanswered")
		<-d.slots
	}
	d.mu.Unlock()
}

func (d *device) write(ctx context.Context, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	return d.ws.Write(wctx, websocket.MessageText, data)
}

// send writes one message once a slot is free. It returns false when ctx
// ended first or the write failed.
func (d *device) send(ctx context.Context) bool {
	select {
	case d.slots <- struct{}{}:
	case <-ctx.Done():
		return false
	}
	id := d.frameID("s")
	now := time.Now()
	f := sendFrame{Type: "send", ID: id, MessageType: 1, Content: d.content,
		ClientMessageID: d.user + "-" + strconv.FormatInt(d.sends.Add(1), 10) + "-" + strconv.FormatInt(now.UnixNano(), 36),
		ClientTimestamp: now.UnixMilli(), Ext: benchExt{SentAt: now.UnixNano()}}
	if d.peer != "" {
		f.ToUserID = d.peer
	} else {
		f.SessionID = d.session
	}
	d.mu.Lock()
	d.pending[id] = now
	d.mu.Unlock()
	d.rec.sent.Add(1)
	// The connection's own context: a send is written whole even when the
	// sending phase ends meanwhile.
	if err := d.write(context.Background(), f); err != nil {
		d.rec.fail("write")
		return false
	}
	return true
}

// inFlight is the number of unanswered sends.
func (d *device) inFlight() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.pending)
}

// ackLatest sends a cumulative ack of ackType for every session that has
// new messages since the last received ack (read acks: always the latest).
func (d *device) ackLatest(ctx context.Context, ackType string) {
	d.mu.Lock()
	var todo []ackFrame
	for s, seq := range d.latest {
		if ackType == "read" || seq > d.acked[s] {
			d.acked[s] = max(d.acked[s], seq)
			todo = append(todo, ackFrame{Type: "ack", ID: d.frameID("a"), SessionID: s, Seq: seq, AckType: ackType})
		}
	}
	d.mu.Unlock()
	for _, f := range todo {
		d.rec.acksSent.Add(1)
		// Written whole even when ctx ends meanwhile: coder/websocket closes
		// a connection whose write is cancelled half way.
		if d.write(context.WithoutCancel(ctx), f) != nil {
			d.rec.fail("write")
			return
		}
	}
}

// syncFrom asks for what follows the highest seq held in the device's
// session; the reader asks for the next page while hasMore.
func (d *device) syncFrom(ctx context.Context, session string) {
	d.mu.Lock()
	after := d.latest[session]
	d.mu.Unlock()
	d.rec.syncs.Add(1)
	if d.write(context.WithoutCancel(ctx), syncFrame{Type: "sync", ID: d.frameID("y"), SessionID: session, AfterSeq: after, Limit: 500}) != nil {
		d.rec.fail("write")
	}
}

// read handles the server's frames until the connection ends.
func (d *device) read(ctx context.Context, ws *websocket.Conn) {
	for {
		_, data, err := ws.Read(ctx)
		if err != nil {
			if ctx.Err() == nil && !d.closing.Load() && !errors.Is(err, context.Canceled) {
				d.rec.fail(closeKind(err))
			}
			return
		}
		var f serverFrame
		if err := json.Unmarshal(data, &f); err != nil {
			d.rec.fail("undecodable frame")
			continue
		}
		d.handle(ctx, f)
	}
}

func (d *device) handle(ctx context.Context, f serverFrame) {
	now := time.Now()
	kind := ""
	if f.ID != "" {
		kind = f.ID[:1]
	}
	switch f.Type {
	case "sendAck", "error":
		if kind == "s" {
			d.mu.Lock()
			at, ok := d.pending[f.ID]
			delete(d.pending, f.ID)
			d.mu.Unlock()
			if !ok {
				d.rec.fail("answer to no send in flight")
				return
			}
			<-d.slots
			if f.Type == "sendAck" {
				d.rec.ackReceived(now.Sub(at), now)
				return
			}
			d.rec.fail("send:" + f.Code)
			return
		}
		if f.Type == "error" {
			d.rec.fail(map[string]string{"a": "ack:", "y": "sync:"}[kind] + f.Code)
		}
	case "ok":
		if kind == "a" {
			d.rec.acksOK.Add(1)
		}
	case "message":
		var m pushedMessage
		if err := json.Unmarshal(f.Message, &m); err != nil || m.SessionID == "" {
			d.rec.fail("push without a message")
			return
		}
		if d.hold(m) && m.Ext != nil && m.Ext.SentAt > 0 {
			d.rec.pushReceived(now.Sub(time.Unix(0, m.Ext.SentAt)), now)
		}
	case "messages":
		for _, m := range f.Messages {
			if d.hold(m) {
				d.rec.synced.Add(1)
			}
		}
		if f.HasMore && f.SessionID != "" {
			d.syncFrom(ctx, f.SessionID)
		}
	}
}

// hold records m's seq; false for a repeat (pushes are at-least-once).
func (d *device) hold(m pushedMessage) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if m.Seq <= d.latest[m.SessionID] {
		d.rec.repeats.Add(1)
		return false
	}
	d.latest[m.SessionID] = m.Seq
	return true
}

func closeKind(err error) string {
	if s := websocket.CloseStatus(err); s != -1 {
		return fmt.Sprintf("closed by server: %d", int(s))
	}
	return "connection lost"
}

// holds reports whether d has seen a message of session.
func (d *device) holds(session string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.latest[session] > 0
}
