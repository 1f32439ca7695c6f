package ws_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	dto "github.com/prometheus/client_model/go"

	"github.com/tellyou/tellyou/handlers/transport/ws"
)

// TestASlowSteadyReaderIsNeverClosed: a burst of 1,500 pushes of 16 KiB
// (about 25 MB) reaches a client that reads one frame every millisecond
// through a small socket buffer, far slower than the hub pushes: most of
// the burst waits in its queue at once. It gets every push, in order, and
// stays open: it never stops taking bytes, so it never stalls, and the
// burst is below the byte bound.
func TestASlowSteadyReaderIsNeverClosed(t *testing.T) {
	t.Parallel()
	const n = 1500
	e := newPushEnv(t, ws.Limits{StallTimeout: 2 * time.Second, MaxQueueBytes: 32 << 20, FrameRate: 1000, FrameBurst: 1000}, "bob")
	bob := e.dial(t, "bob", 64<<10)

	type result struct {
		seqs []int64
		err  error
	}
	read := make(chan result, 1)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	go func() {
		var r result
		for len(r.seqs) < n {
			_, data, err := bob.Read(ctx)
			if err != nil {
				r.err = err
				break
			}
			var f struct{ Message struct{ Seq int64 } }
			if err := json.Unmarshal(data, &f); err != nil {
				r.err = err
				break
			}
			r.seqs = append(r.seqs, f.Message.Seq)
			time.Sleep(time.Millisecond)
		}
		read <- r
	}()
	content := strings.Repeat("x", 16<<10)
	maxQueued := 0
	for seq := int64(1); seq <= n; seq++ {
		e.push(t, seq, content)
		maxQueued = max(maxQueued, slices.Max(append(ws.QueuedBytes(e.h), 0)))
	}
	r := <-read
	if r.err != nil {
		t.Fatalf("the slow reader's connection failed after %d pushes: %v", len(r.seqs), r.err)
	}
	for i, seq := range r.seqs {
		if seq != int64(i+1) {
			t.Fatalf("push %d has seq %d", i, seq)
		}
	}
	if v := counter(t, e); v != 0 {
		t.Fatalf("%v connections closed as slow", v)
	}
	// Still open: it answers.
	if err := bob.Write(ctx, websocket.MessageText, []byte(`{"type":"dance","id":"still"}`)); err != nil {
		t.Fatal(err)
	}
	if _, data, err := bob.Read(ctx); err != nil || !strings.Contains(string(data), `"still"`) {
		t.Fatalf("after the burst: %s, %v", data, err)
	}
	t.Logf("up to %d bytes (%d frames) waited for the reader", maxQueued, maxQueued/(16<<10))
}

// TestQueuedCountsTheBytesNotYetWritten: Queued reports what the client has
// not taken yet, and nothing once it has read everything.
func TestQueuedCountsTheBytesNotYetWritten(t *testing.T) {
	t.Parallel()
	const n = 400
	e := newPushEnv(t, ws.Limits{StallTimeout: time.Hour}, "bob")
	bob := e.dial(t, "bob", 64<<10)
	content := strings.Repeat("q", 16<<10)
	for seq := int64(1); seq <= n; seq++ {
		e.push(t, seq, content)
	}
	// bob reads nothing: the socket takes a few MB, the rest waits.
	queued := ws.QueuedBytes(e.h)
	if len(queued) != 1 || queued[0] <= 0 || queued[0] >= n*len(content)+n*400 {
		t.Fatalf("Queued = %v with bob reading nothing, after %d pushes of %d bytes", queued, n, len(content))
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for i := range n {
		if _, _, err := bob.Read(ctx); err != nil {
			t.Fatalf("push %d: %v", i, err)
		}
	}
	if q := ws.QueuedBytes(e.h); len(q) != 1 || q[0] != 0 {
		t.Fatalf("Queued = %v once bob has read everything", q)
	}
}

// TestAMessageInFragmentsWithPausesIsRead: a connection parks only between
// messages; in the middle of a fragmented one, with a ping between its
// fragments, its reader waits for the rest.
func TestAMessageInFragmentsWithPausesIsRead(t *testing.T) {
	t.Parallel()
	dial := serve(t, newHandler(t, ws.Limits{}))
	c, _, err := dial("ann")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	answers := make(chan string, 2)
	go func() {
		for {
			_, data, err := c.Read(ctx) // also reads the pong
			if err != nil {
				close(answers)
				return
			}
			answers <- string(data)
		}
	}()
	for i := range 2 {
		w, err := c.Writer(ctx, websocket.MessageText)
		if err != nil {
			t.Fatal(err)
		}
		for j, part := range []string{`{"type":`, `"dance",`, fmt.Sprintf(`"id":"frag%d"}`, i)} {
			if _, err := w.Write([]byte(part)); err != nil {
				t.Fatal(err)
			}
			time.Sleep(20 * time.Millisecond) // the server's reader waits mid-message
			if j == 1 {
				if err := c.Ping(ctx); err != nil {
					t.Fatalf("ping between fragments: %v", err)
				}
			}
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		if a := <-answers; !strings.Contains(a, fmt.Sprintf(`"frag%d"`, i)) || !strings.Contains(a, "bad_request") {
			t.Fatalf("answer to fragmented message %d: %q", i, a)
		}
	}
}

func counter(t *testing.T, e *pushEnv) float64 {
	t.Helper()
	var d dto.Metric
	if err := e.m.SlowClientsClosed.Write(&d); err != nil {
		t.Fatal(err)
	}
	return d.GetCounter().GetValue()
}
