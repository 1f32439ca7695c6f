package multinodetest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// key is a message's place: (sessionId, seq).
type key struct {
	session string
	seq     int64
}

// device is one WebSocket connection of a user. A reader goroutine routes
// answers to the waiting request, counts message pushes by (sessionId, seq)
// and acks each as received, as a client does.
type device struct {
	t    *testing.T
	name string
	user string
	conn *websocket.Conn

	mu      sync.Mutex
	waiting map[string]chan map[string]any
	pushed  map[key]int
	replyTo map[key]string   // of pushed messages that answer another
	typing  map[string]bool  // "sessionId/userId" of typing notices received
	others  []map[string]any // other pushes (recalls, edits, reactions, receipts), in order
	// presence holds the presence frames received, in order.
	presence []map[string]any
	nextID   int
	closed   chan struct{}
}

func dial(t *testing.T, n *node, name, user string) *device {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	url := strings.Replace(n.Base, "http", "ws", 1) + "/v1/ws?token=" + token(t, user)
	conn, _, err := websocket.Dial(ctx, url, nil)
	if err != nil {
		t.Fatalf("dial %s as %s: %v", n.Name, user, err)
	}
	conn.SetReadLimit(1 << 20)
	d := &device{t: t, name: name, user: user, conn: conn, waiting: map[string]chan map[string]any{},
		pushed: map[key]int{}, replyTo: map[key]string{}, typing: map[string]bool{}, closed: make(chan struct{})}
	go d.read()
	t.Cleanup(func() {
		conn.CloseNow()
		<-d.closed
	})
	return d
}

func (d *device) read() {
	defer close(d.closed)
	for {
		_, data, err := d.conn.Read(context.Background())
		if err != nil {
			return
		}
		var f map[string]any
		if json.Unmarshal(data, &f) != nil {
			continue
		}
		if id, ok := f["id"].(string); ok {
			d.mu.Lock()
			ch := d.waiting[id]
			delete(d.waiting, id)
			d.mu.Unlock()
			if ch != nil {
				ch <- f
			}
			continue
		}
		if f["type"] == "typing" {
			d.mu.Lock()
			d.typing[fmt.Sprint(f["sessionId"], "/", f["userId"])] = true
			d.mu.Unlock()
			continue
		}
		if f["type"] == "presence" {
			d.mu.Lock()
			d.presence = append(d.presence, f)
			d.mu.Unlock()
			continue
		}
		if f["type"] != "message" {
			d.mu.Lock()
			d.others = append(d.others, f)
			d.mu.Unlock()
			continue
		}
		m := f["message"].(map[string]any)
		k := key{m["sessionId"].(string), int64(m["seq"].(float64))}
		d.mu.Lock()
		d.pushed[k]++
		if r, ok := m["replyTo"].(string); ok {
			d.replyTo[k] = r
		}
		d.mu.Unlock()
		ack, _ := json.Marshal(map[string]any{"type": "ack", "sessionId": k.session, "seq": k.seq, "ackType": "received"})
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_ = d.conn.Write(ctx, websocket.MessageText, ack)
		cancel()
	}
}

// request sends a frame (given without its id) and returns the answer.
func (d *device) request(frame map[string]any) (map[string]any, error) {
	d.mu.Lock()
	d.nextID++
	id := fmt.Sprintf("%s-%d", d.name, d.nextID)
	answer := make(chan map[string]any, 1)
	d.waiting[id] = answer
	d.mu.Unlock()
	frame["id"] = id
	data, _ := json.Marshal(frame)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := d.conn.Write(ctx, websocket.MessageText, data); err != nil {
		return nil, fmt.Errorf("%s: write %s: %w", d.name, data, err)
	}
	select {
	case f := <-answer:
		return f, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("%s: no answer to %s within 30s", d.name, data)
	}
}

// send sends a text message and returns its place from the sendAck.
func (d *device) send(target map[string]any, clientMessageID string) (key, error) {
	frame := map[string]any{"type": "send", "messageType": 1, "content": "text of " + clientMessageID,
		"clientMessageId": clientMessageID, "clientTimestamp": time.Now().UnixMilli()}
	for k, v := range target {
		frame[k] = v
	}
	f, err := d.request(frame)
	if err != nil {
		return key{}, err
	}
	if f["type"] != "sendAck" {
		return key{}, fmt.Errorf("%s: send %s answered %v", d.name, clientMessageID, f)
	}
	return key{f["sessionId"].(string), int64(f["seq"].(float64))}, nil
}

// sync returns the seqs of the session after afterSeq, through the sync
// frame, page by page.
func (d *device) sync(sessionID string, afterSeq int64) []int64 {
	d.t.Helper()
	var seqs []int64
	for {
		f, err := d.request(map[string]any{"type": "sync", "sessionId": sessionID, "afterSeq": afterSeq, "limit": 500})
		if err != nil || f["type"] != "messages" {
			d.t.Fatalf("%s: sync %s: %v %v", d.name, sessionID, f, err)
		}
		for _, m := range f["messages"].([]any) {
			afterSeq = int64(m.(map[string]any)["seq"].(float64))
			seqs = append(seqs, afterSeq)
		}
		if f["hasMore"] != true {
			return seqs
		}
	}
}

// sawTyping reports whether a typing notice of user in the session arrived.
func (d *device) sawTyping(sessionID, user string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.typing[sessionID+"/"+user]
}

// pushes returns the pushes other than messages and typing notices that
// match pred.
func (d *device) pushes(pred func(map[string]any) bool) []map[string]any {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []map[string]any
	for _, f := range d.others {
		if pred(f) {
			out = append(out, f)
		}
	}
	return out
}

// repliedTo returns the replyTo of a pushed message ("" for none).
func (d *device) repliedTo(k key) string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.replyTo[k]
}

// counts returns how many times each place was pushed.
func (d *device) counts() map[key]int {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make(map[key]int, len(d.pushed))
	for k, n := range d.pushed {
		out[k] = n
	}
	return out
}
