package crashtest_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
)

// chatClient is one user's device. It sends its planned messages over one
// WebSocket, several in flight, and records every sendAck. When the
// connection breaks it reconnects and resends, with the same
// clientMessageId and content, every message it has no ack for, until all are
// acked. After each reconnect it also resends a few messages that were acked
// already (probes): their answer must be duplicate:true with the original seq.
//
// A client runs on one goroutine (run) plus a reader per connection; its
// fields are read by others only after run returned.
type chatClient struct {
	user     string
	bed      *testbed
	window   int
	rng      *rand.Rand
	msgs     []*clientMessage
	queue    []outgoing
	progress *atomic.Int64 // acked messages of all clients
	problems *problemLog
	stats    clientStats
	frames   int
}

// clientMessage is a planned message and what became of it.
type clientMessage struct {
	*plannedMessage
	written int      // send frames written for it, probes excluded
	ack     *sendAck // the first ack
}

// outgoing is an entry of the send queue.
type outgoing struct {
	msg   *clientMessage
	probe bool
}

// sendAck is what a sendAck frame said.
type sendAck struct {
	SessionID         string
	MessageID         string
	Seq               int64
	ServerTimestamp   int64
	AdjustedTimestamp int64
	Duplicate         bool
}

func newChatClient(user string, bed *testbed, window int, seed uint64, plan []*plannedMessage, progress *atomic.Int64, problems *problemLog) *chatClient {
	c := &chatClient{user: user, bed: bed, window: window, rng: rand.New(rand.NewPCG(seed, 7)), progress: progress, problems: problems,
		stats: clientStats{sendErrors: map[string]int{}, closes: map[string]int{}, receiptErrs: map[string]int{}}}
	for _, p := range plan {
		m := &clientMessage{plannedMessage: p}
		c.msgs = append(c.msgs, m)
		c.queue = append(c.queue, outgoing{msg: m})
	}
	return c
}

// run sends until every message is acked, ctx ends, or the server broke the
// protocol (logged in problems).
func (c *chatClient) run(ctx context.Context) {
	backoff := 10 * time.Millisecond
	for len(c.queue) > 0 && ctx.Err() == nil {
		connected, err := c.connection(ctx)
		if err != nil {
			c.problems.add("%s: %v", c.user, err)
			return
		}
		if connected {
			backoff = 10 * time.Millisecond
			continue
		}
		select {
		case <-ctx.Done():
		case <-time.After(backoff/2 + rand.N(backoff/2+1)):
		}
		backoff = min(2*backoff, 250*time.Millisecond)
	}
}

// unacked lists the clientMessageIds still without an ack.
func (c *chatClient) unacked() []string {
	var ids []string
	for _, m := range c.msgs {
		if m.ack == nil {
			ids = append(ids, m.clientMessageID)
		}
	}
	return ids
}

// connection runs one connection: it reports whether the dial succeeded, and
// an error only for a protocol violation. In-flight sends without an answer go
// back to the front of the queue.
func (c *chatClient) connection(ctx context.Context) (bool, error) {
	dialCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	ws, _, err := websocket.Dial(dialCtx, c.bed.wsURL(c.user), nil)
	cancel()
	if err != nil {
		c.stats.dialFailures++
		return false, nil
	}
	ws.SetReadLimit(1 << 20)
	c.stats.connections++
	if c.stats.connections > 1 {
		c.queueProbes(2)
	}
	connCtx, stop := context.WithCancel(ctx)
	defer stop()
	answers := make(chan serverFrame, 1024)
	receipts := make(chan receipt, 16)
	var (
		wg      sync.WaitGroup
		readErr error
		pushes  int
	)
	wg.Go(func() {
		defer close(answers)
		pushes, readErr = c.read(connCtx, ws, answers, receipts)
	})

	inflight := map[string]outgoing{}
	var problem error
	endedByServer := false
loop:
	for {
		for len(inflight) < c.window && len(c.queue) > 0 {
			o := c.queue[0]
			c.queue = c.queue[1:]
			id := c.frameID("s")
			inflight[id] = o
			if err := c.writeSend(connCtx, ws, id, o); err != nil {
				endedByServer = ctx.Err() == nil
				break loop
			}
		}
		if len(inflight) == 0 && len(c.queue) == 0 {
			break
		}
		select {
		case f, ok := <-answers:
			if !ok {
				endedByServer = ctx.Err() == nil
				break loop
			}
			if problem = c.handle(f, inflight); problem != nil {
				break loop
			}
		case r := <-receipts:
			c.writeReceipt(connCtx, ws, r)
		case <-ctx.Done():
			break loop
		}
	}
	if problem == nil && !endedByServer && len(inflight) == 0 && len(c.queue) == 0 {
		_ = ws.Close(websocket.StatusNormalClosure, "all messages acked")
	}
	stop()
	_ = ws.CloseNow()
	// What arrived before the end still counts.
	for f := range answers {
		if problem == nil {
			problem = c.handle(f, inflight)
		}
	}
	wg.Wait()
	c.stats.pushes += pushes
	if endedByServer {
		c.stats.closes[closeKind(readErr)]++
	}
	c.requeue(inflight)
	return true, problem
}

// closeKind names how the server ended a connection.
func closeKind(err error) string {
	if s := websocket.CloseStatus(err); s != -1 {
		return fmt.Sprintf("close %d (%v)", int(s), s)
	}
	return "dropped without a close frame"
}

// requeue puts the unanswered in-flight sends back at the front of the queue,
// in the order they were first sent.
func (c *chatClient) requeue(inflight map[string]outgoing) {
	ids := make([]string, 0, len(inflight))
	for id := range inflight {
		ids = append(ids, id)
	}
	// Frame ids are "s" and a zero-padded counter: they sort in sending order.
	slices.Sort(ids)
	back := make([]outgoing, 0, len(ids)+len(c.queue))
	for _, id := range ids {
		back = append(back, inflight[id])
	}
	c.queue = append(back, c.queue...)
}

// queueProbes puts up to n acked messages at the front of the queue, to be
// sent again.
func (c *chatClient) queueProbes(n int) {
	var acked []*clientMessage
	for _, m := range c.msgs {
		if m.ack != nil {
			acked = append(acked, m)
		}
	}
	for range min(n, len(acked)) {
		m := acked[c.rng.IntN(len(acked))]
		c.queue = append([]outgoing{{msg: m, probe: true}}, c.queue...)
	}
}

func (c *chatClient) frameID(prefix string) string {
	c.frames++
	return fmt.Sprintf("%s%09d", prefix, c.frames)
}
