package gateway_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/tellyou/tellyou/readmodels"
)

// frame is any server frame; which fields are set depends on Type.
type frame struct {
	Type              string               `json:"type"`
	ID                string               `json:"id"`
	ClientMessageID   string               `json:"clientMessageId"`
	SessionID         string               `json:"sessionId"`
	MessageID         string               `json:"messageId"`
	Seq               int64                `json:"seq"`
	ServerTimestamp   int64                `json:"serverTimestamp"`
	AdjustedTimestamp int64                `json:"adjustedTimestamp"`
	Duplicate         bool                 `json:"duplicate"`
	By                string               `json:"by"`
	UserID            string               `json:"userId"`
	AckType           string               `json:"ackType"`
	Messages          []readmodels.Message `json:"messages"`
	LastSeq           int64                `json:"lastSeq"`
	HasMore           bool                 `json:"hasMore"`
	Code              string               `json:"code"`
	RetryAfterMs      int64                `json:"retryAfterMs"`
	Content           string               `json:"content"`
	EditedAt          int64                `json:"editedAt"`
	Emoji             string               `json:"emoji"`
	Removed           bool                 `json:"removed"`
	UpToSeq           int64                `json:"upToSeq"`
	// Message is the pushed message of a message frame, or the text of an
	// error frame.
	Message json.RawMessage `json:"message"`
	raw     string
}

func (f frame) msg() readmodels.Message {
	var m readmodels.Message
	_ = json.Unmarshal(f.Message, &m)
	return m
}

func (f frame) text() string {
	var s string
	_ = json.Unmarshal(f.Message, &s)
	return s
}

// client is one test connection. Its reader keeps every frame, so the server
// never sees it as slow unless the test chooses not to start it.
type client struct {
	t    *testing.T
	conn *websocket.Conn

	mu     sync.Mutex
	frames []frame
	notify chan struct{}
	done   chan struct{}
	err    error // why reading stopped, once done is closed
}

func (c *client) startReading() {
	go func() {
		defer close(c.done)
		for {
			typ, data, err := c.conn.Read(context.Background())
			if err != nil {
				c.mu.Lock()
				c.err = err
				c.mu.Unlock()
				c.wake()
				return
			}
			var f frame
			if typ != websocket.MessageText || json.Unmarshal(data, &f) != nil {
				f = frame{Type: "undecodable"}
			}
			f.raw = string(data)
			c.mu.Lock()
			c.frames = append(c.frames, f)
			c.mu.Unlock()
			c.wake()
		}
	}()
}

func (c *client) wake() {
	select {
	case c.notify <- struct{}{}:
	default:
	}
}

// write sends a frame (a map or struct as JSON, or raw text).
func (c *client) write(v any) {
	c.t.Helper()
	var data []byte
	switch x := v.(type) {
	case string:
		data = []byte(x)
	default:
		var err error
		if data, err = json.Marshal(v); err != nil {
			c.t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := c.conn.Write(ctx, websocket.MessageText, data); err != nil {
		c.t.Fatalf("write %s: %v", data, err)
	}
}

// await waits for a frame matching pred and returns the first one.
func (c *client) await(what string, pred func(frame) bool) frame {
	c.t.Helper()
	deadline := time.After(wait)
	for {
		c.mu.Lock()
		for _, f := range c.frames {
			if pred(f) {
				c.mu.Unlock()
				return f
			}
		}
		err := c.err
		c.mu.Unlock()
		if err != nil {
			c.t.Fatalf("connection ended (%v) before %s", err, what)
		}
		select {
		case <-c.notify:
		case <-deadline:
			c.t.Fatalf("no %s within %v; got %s", what, wait, c.describe())
		}
	}
}

// awaitCount waits until n frames match pred and returns them.
func (c *client) awaitCount(what string, n int, pred func(frame) bool) []frame {
	c.t.Helper()
	deadline := time.After(wait)
	for {
		got := c.matching(pred)
		if len(got) >= n {
			return got
		}
		c.mu.Lock()
		err := c.err
		c.mu.Unlock()
		if err != nil {
			c.t.Fatalf("connection ended (%v) with %d of %d %s", err, len(got), n, what)
		}
		select {
		case <-c.notify:
		case <-deadline:
			c.t.Fatalf("%d of %d %s within %v", len(got), n, what, wait)
		}
	}
}

// request writes a frame with an id and waits for its answer.
func (c *client) request(v map[string]any) frame {
	c.t.Helper()
	id, _ := v["id"].(string)
	c.write(v)
	return c.answer(id)
}

func (c *client) answer(id string) frame {
	c.t.Helper()
	return c.await("answer to "+id, func(f frame) bool { return f.ID == id })
}

func (c *client) matching(pred func(frame) bool) []frame {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []frame
	for _, f := range c.frames {
		if pred(f) {
			out = append(out, f)
		}
	}
	return out
}

// barrier makes sure every frame the server queued for this connection
// before now has arrived: the answer to a sync is queued after them.
func (c *client) barrier() {
	c.t.Helper()
	id := fmt.Sprintf("barrier-%d", time.Now().UnixNano())
	c.request(map[string]any{"type": "sync", "id": id, "sessionId": "d:a:b"})
}

// closed waits for the connection to end and returns its close status.
func (c *client) closed() websocket.StatusCode {
	c.t.Helper()
	select {
	case <-c.done:
	case <-time.After(wait):
		c.t.Fatalf("connection still open after %v", wait)
	}
	return websocket.CloseStatus(c.err)
}

func (c *client) describe() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var b strings.Builder
	fmt.Fprintf(&b, "%d frames", len(c.frames))
	start := max(len(c.frames)-5, 0)
	for _, f := range c.frames[start:] {
		b.WriteString("\n  " + f.raw[:min(len(f.raw), 300)])
	}
	return b.String()
}

func isMessage(seq int64) func(frame) bool {
	return func(f frame) bool { return f.Type == "message" && f.msg().Seq == seq }
}

func isType(typ string) func(frame) bool { return func(f frame) bool { return f.Type == typ } }
