package gateway_test

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/tellyou/tellyou/events"
	"github.com/tellyou/tellyou/handlers/delivery"
	"github.com/tellyou/tellyou/handlers/transport/ws"
)

func TestShutdownAnswersSendsInFlightAndClosesWith1001(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{ws: ws.Limits{SendRate: 1e6, SendBurst: 1e6}, push: delivery.Options{RedeliveryTimeout: 1 << 40}})
	users := []string{"ann", "bob", "carl", "dave"}
	g := e.group(t, "ann", users[1:]...)

	// Each user sends without pause; ann and carl wait for each answer, bob
	// and dave keep several sends in the pipe.
	type outcome struct {
		client   *client
		user     string
		cmids    []string
		answered map[string]frame
	}
	outcomes := make([]*outcome, len(users))
	started := make(chan struct{}, len(users))
	var wg sync.WaitGroup
	for i, u := range users {
		o := &outcome{client: e.connect(t, u), user: u, answered: map[string]frame{}}
		outcomes[i] = o
		pipeline := 1 + 4*(i%2)
		wg.Go(func() {
			for k := 0; ; k++ {
				id := fmt.Sprintf("%s-%d", u, k)
				ctx, cancel := context.WithTimeout(context.Background(), wait)
				err := o.client.conn.Write(ctx, websocket.MessageText, []byte(fmt.Sprintf(
					`{"type":"send","id":%q,"sessionId":%q,"messageType":1,"content":"x","clientMessageId":%q}`, id, g, id)))
				cancel()
				if err != nil {
					return // closed
				}
				o.cmids = append(o.cmids, id)
				if k+1 >= pipeline {
					// Wait for the answer to the send pipeline-1 places back.
					back := k + 1 - pipeline
					if !o.client.answeredOrClosed(o.cmids[back]) {
						return
					}
					if back == 9 { // ten answered
						started <- struct{}{}
					}
				}
			}
		})
	}
	for range users {
		<-started
	}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := e.gw.Shutdown(ctx); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	wg.Wait()

	// New connections are refused.
	resp, err := http.Get(e.srv.URL + "/v1/ws?token=" + e.Token(t, "ann"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("connect after shutdown: %d", resp.StatusCode)
	}

	inLog := map[string]int64{}
	for _, env := range e.stream(t, g) {
		if m, ok := env.Payload.(events.MessageSent); ok {
			inLog[m.ClientMessageID] = m.Seq
		}
	}
	total, acked := 0, 0
	for _, o := range outcomes {
		if got := o.client.closed(); got != websocket.StatusGoingAway {
			t.Fatalf("%s: close status %v (%v), want 1001", o.user, got, o.client.err)
		}
		for _, f := range o.client.matching(func(f frame) bool { return f.ID != "" }) {
			o.answered[f.ID] = f
		}
		for _, id := range o.cmids {
			total++
			f, answered := o.answered[id]
			seq, logged := inLog[id]
			switch {
			case answered && f.Type == "sendAck":
				acked++
				if !logged || seq != f.Seq {
					t.Errorf("%s: acked with seq %d, in the log: %v (seq %d)", id, f.Seq, logged, seq)
				}
			case answered && f.Type == "error":
				if logged {
					t.Errorf("%s: answered %s but in the log", id, f.Code)
				}
			case answered:
				t.Errorf("%s: answered %s", id, f.raw)
			case logged:
				// Never handled frames must not be in the log: a client that
				// got no answer retries with the same clientMessageId anyway.
				t.Errorf("%s: unanswered but in the log at seq %d", id, seq)
			}
		}
	}
	if acked < 4*10 {
		t.Fatalf("only %d of %d sends acked", acked, total)
	}
	t.Logf("%d sends, %d acked, %d in the log", total, acked, len(inLog))
}

// answeredOrClosed waits until the frame id is answered (true) or the
// connection ends (false).
func (c *client) answeredOrClosed(id string) bool {
	c.t.Helper()
	deadline := time.After(wait)
	for {
		c.mu.Lock()
		for _, f := range c.frames {
			if f.ID == id {
				c.mu.Unlock()
				return true
			}
		}
		ended := c.err != nil
		c.mu.Unlock()
		if ended {
			return false
		}
		select {
		case <-c.notify:
		case <-deadline:
			c.t.Errorf("no answer to %s within %v", id, wait)
			return false
		}
	}
}
