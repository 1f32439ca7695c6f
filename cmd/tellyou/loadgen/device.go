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
// sessions (the seqs it holds) and its messages in flight across
// reconnections.
type device struct {
	user        string
	peer        string // toUserId for direct sends; empty in a group
	session     string // the session it sends to and acks
	rec         *recorder
	content     string
	maxInFlight int
	frames      atomic.Int64
	sends       atomic.Int64

	// sendMu orders the writes of new sends and resends: resends go first.
	sendMu sync.Mutex

	mu        sync.Mutex
	pending   map[string]*outgoing // send frame id -> the send awaiting its answer
	refused   []*outgoing          // refused as overloaded, in send order, awaiting their resend
	stale     map[string]bool      // sends of an earlier step: their answers are not counted
	resending bool                 // a resender runs
	seen      map[string]*seqSet   // session -> seqs held
	latest    map[string]int64     // session -> highest seq pushed or synced
	acked     map[string]int64     // session -> highest seq acked as received
	// changed (capacity 1) is signalled when a send is answered, refused or
	// resent: a sender waiting for room looks again.
	changed chan struct{}

	ws      *websocket.Conn
	stop    context.CancelFunc
	closing atomic.Bool    // set before the run closes the connection itself
	reader  sync.WaitGroup // the reader and the resender it starts
}

func newDevice(user, peer, session string, inFlight int, content string, rec *recorder) *device {
	return &device{user: user, peer: peer, session: session, rec: rec, content: content, maxInFlight: inFlight,
		pending: map[string]*outgoing{}, stale: map[string]bool{}, seen: map[string]*seqSet{},
		latest: map[string]int64{}, acked: map[string]int64{}, changed: make(chan struct{}, 1)}
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
	d.reader.Add(1)
	go func() {
		defer d.reader.Done()
		d.read(connCtx, ws)
	}()
	return nil
}

// close ends the connection: gracefully with a close frame, or dropped
// without one. It waits for the reader and the resender, and counts the
// sends left unanswered (refused ones waiting for their resend included).
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
	for range len(d.pending) + len(d.refused) {
		d.rec.fail("send:unanswered")
	}
	clear(d.pending)
	clear(d.stale)
	d.refused = nil
	d.mu.Unlock()
	d.wake()
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

// writeFailed counts a failed write, unless the run is closing the
// connection itself.
func (d *device) writeFailed() {
	if !d.closing.Load() {
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
			d.answered(ctx, f, now)
			return
		}
		if f.Type == "error" {
			d.rec.fail(map[string]string{"a": "ack:", "y": "sync:"}[kind] + f.Code)
			if kind == "a" && f.Code == "overloaded" {
				// Not taken: the next round of acks sends them again
				// (acks are cumulative, so the latest one does).
				d.mu.Lock()
				clear(d.acked)
				d.mu.Unlock()
			}
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
		if d.hold(m, true) && m.Ext != nil && m.Ext.SentAt > 0 {
			d.rec.pushReceived(now.Sub(time.Unix(0, m.Ext.SentAt)), now)
		}
	case "messages":
		for _, m := range f.Messages {
			if d.hold(m, false) {
				d.rec.synced.Add(1)
			}
		}
		if f.HasMore && f.SessionID != "" {
			d.syncFrom(ctx, f.SessionID)
		}
	}
}

// hold records m's seq and reports whether the device did not hold it yet.
// A push of a (session, seq) it holds is a repeat: pushes are at-least-once.
func (d *device) hold(m pushedMessage, pushed bool) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.seqs(m.SessionID).add(m.Seq) {
		if pushed {
			d.rec.repeats.Add(1)
		}
		return false
	}
	d.latest[m.SessionID] = max(d.latest[m.SessionID], m.Seq)
	return true
}

// seqs is the set of session's seqs the device holds; d.mu is held.
func (d *device) seqs(session string) *seqSet {
	s := d.seen[session]
	if s == nil {
		s = &seqSet{}
		d.seen[session] = s
	}
	return s
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
