package gateway_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/tellyou/tellyou/handlers/transport/ws"
)

// abuseLimits are small enough that every abuser meets its limit within a
// second, and large enough for the honest pair never to.
var abuseLimits = ws.Limits{MaxQueueBytes: 1 << 20, SendRate: 5, SendBurst: 15, FrameRate: 10, FrameBurst: 20, MaxConnsPerUser: 4}

// abuseWindow bounds the unanswered frames of a flooder that reads its
// answers, well below what abuseLimits.MaxQueueBytes holds.
const abuseWindow = 16

// honestRounds is how many messages each of the honest pair sends.
const honestRounds = 10

// While four abusive clients do their worst, an honest pair keeps chatting:
// every message is acked and pushed, every request answered. Each abuser
// meets the limit made for it:
//   - sloth asks for big sync answers and never reads them: its outgoing
//     queue passes Limits.MaxQueueBytes and it is closed with 1013;
//   - hydra opens connection after connection: past MaxConnsPerUser they are
//     refused with 429 before the upgrade, until one of its own closes;
//   - spammer sends to ann at full speed: past SendBurst its sends are
//     answered rate_limited, and ann gets exactly the acked ones;
//   - typist floods typing and sync frames on two connections: past
//     FrameBurst they are answered rate_limited.
func TestAbusiveClientsDoNotStopAnHonestPair(t *testing.T) {
	t.Parallel()
	started := time.Now()
	e := newGuardedEnv(t, abuseLimits)
	e.sendCmd(t, "spammer", "d:ann:spammer", "hi ann", "setup-spam")
	e.sendCmd(t, "typist", "d:bob:typist", "hi bob", "setup-typist")
	hoard := e.group(t, "sloth", "spammer")
	for i := range 20 {
		e.sendCmd(t, "sloth", hoard, strings.Repeat("s", 8<<10), fmt.Sprint("hoard-", i))
	}
	e.CaughtUp(t)

	ann, bob := e.connect(t, "ann"), e.connect(t, "bob")
	sloth := e.dial(t, e.Token(t, "sloth"), &websocket.DialOptions{HTTPClient: smallBufferClient()})
	var hydra []*client
	for range abuseLimits.MaxConnsPerUser {
		hydra = append(hydra, e.connect(t, "hydra"))
	}
	spammer, typist1, typist2 := e.connect(t, "spammer"), e.connect(t, "typist"), e.connect(t, "typist")

	// stop ends the floods once the honest pair is done; abort ends every
	// abuser however the test ends. sloth goes on until it is closed.
	stop, abort := make(chan struct{}), make(chan struct{})
	halt := sync.OnceFunc(func() { close(stop) })
	var wg, slothWG sync.WaitGroup
	defer func() { halt(); close(abort); wg.Wait(); slothWG.Wait() }()
	var spams, typings, syncs int
	var refused, hydraOther []string
	wg.Go(func() {
		spams = spammer.flood(stop, "spam-", func(i int) any { return send(fmt.Sprint("spam-", i), "d:ann:spammer", "buy now") })
	})
	wg.Go(func() {
		typings = typist1.flood(stop, "typing-", func(i int) any {
			return map[string]any{"type": "typing", "id": fmt.Sprint("typing-", i), "sessionId": "d:bob:typist"}
		})
	})
	wg.Go(func() {
		syncs = typist2.flood(stop, "sync-", func(i int) any {
			return map[string]any{"type": "sync", "id": fmt.Sprint("sync-", i), "sessionId": "d:bob:typist"}
		})
	})
	var slothFrames int
	var slothTook time.Duration
	slothWG.Go(func() { slothFrames, slothTook = slothLoop(abort, e, sloth, hoard) })
	wg.Go(func() { refused, hydraOther = hydraLoop(stop, e, e.Token(t, "hydra")) })

	chatStart := time.Now()
	acks, pushes := chat(t, ann, bob)
	halt()
	wg.Wait()
	slothWG.Wait()
	t.Logf("setup took %v, the chat under abuse %v", chatStart.Sub(started).Round(time.Millisecond), time.Since(chatStart).Round(time.Millisecond))

	// The honest pair's answers came, whatever their latency.
	t.Logf("honest pair: %d messages; sendAck p50 %v max %v; push p50 %v max %v",
		len(acks), pct(acks, 50), pct(acks, 100), pct(pushes, 50), pct(pushes, 100))
	for _, c := range []*client{ann, bob} {
		if got := c.matching(func(f frame) bool { return f.Code != "" }); len(got) != 0 {
			t.Errorf("an honest client was refused: %s", got[0].raw)
		}
	}

	// spammer: limited, and ann got every acked spam, and no other. ann
	// acks none, so a slow run redelivers some (after 10 s): count seqs.
	acked, limited := spammer.floodAnswers("spam-", spams, "sendAck")
	t.Logf("spammer: %d sends, %d acked, %d rate_limited", spams, acked, limited)
	if limited == 0 {
		t.Errorf("spammer: none of %d sends was rate limited", spams)
	}
	spamSeqs := func() int {
		seqs := map[int64]bool{}
		for _, f := range ann.matching(func(f frame) bool { return f.Type == "message" && f.msg().SessionID == "d:ann:spammer" }) {
			seqs[f.msg().Seq] = true
		}
		return len(seqs)
	}
	eventually(t, "spam pushes", func() bool { return spamSeqs() >= acked })
	ann.barrier()
	if got := spamSeqs(); got != acked {
		t.Errorf("ann got %d spam messages, %d were acked", got, acked)
	}

	// typist: limited on both connections.
	for _, f := range []struct {
		c              *client
		prefix, answer string
		n              int
	}{{typist1, "typing-", "ok", typings}, {typist2, "sync-", "messages", syncs}} {
		ok, limited := f.c.floodAnswers(f.prefix, f.n, f.answer)
		t.Logf("typist: %d %s frames, %d answered, %d rate_limited", f.n, strings.TrimSuffix(f.prefix, "-"), ok, limited)
		if limited == 0 {
			t.Errorf("typist: none of %d %s frames was rate limited", f.n, strings.TrimSuffix(f.prefix, "-"))
		}
	}

	// hydra: refused before the upgrade, and let in again once one of its
	// connections has closed.
	t.Logf("hydra: %d connections refused with 429", len(refused))
	if len(refused) == 0 || len(hydraOther) > 0 {
		t.Errorf("hydra: %d refusals; other outcomes: %v", len(refused), hydraOther)
	}
	for _, r := range refused {
		if r != `{"code":"rate_limited","message":"too many connections for this user"}` {
			t.Errorf("hydra refused with %s", r)
			break
		}
	}
	_ = hydra[0].conn.Close(websocket.StatusNormalClosure, "")
	hydra[0].closed()
	eventually(t, "hydra connects again", func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		c, _, err := websocket.Dial(ctx, e.wsURL()+"?token="+e.Token(t, "hydra"), nil)
		if err == nil {
			_ = c.CloseNow()
		}
		return err == nil
	})

	// sloth: closed for not reading, and only sloth.
	t.Logf("sloth: closed for not reading after %d frames and %v", slothFrames, slothTook.Round(time.Millisecond))
	if got := sloth.closed(); got != websocket.StatusTryAgainLater {
		t.Errorf("sloth closed with %v (%v), want 1013", got, sloth.err)
	}
	if v := value(e.metrics.SlowClientsClosed); v != 1 {
		t.Errorf("SlowClientsClosed = %v, want 1 (sloth's)", v)
	}
	for _, c := range []*client{ann, bob, spammer, typist1, typist2, hydra[1]} {
		select {
		case <-c.done:
			t.Errorf("a connection ended: %v", c.err)
		default:
		}
	}
	t.Logf("scenario took %v", time.Since(started).Round(time.Millisecond))
}

// chat makes ann and bob take turns: each sends, waits for the sendAck and
// for the other to get the push, and now and then syncs and types. It
// returns the sendAck and push latencies.
func chat(t *testing.T, ann, bob *client) (acks, pushes []time.Duration) {
	t.Helper()
	pair := [2]*client{ann, bob}
	for i := range 2 * honestRounds {
		from, to := pair[i%2], pair[(i+1)%2]
		id := fmt.Sprint("honest-", i)
		start := time.Now()
		var ack frame
		if i == 0 {
			ack = from.request(map[string]any{"type": "send", "id": id, "toUserId": "bob", "messageType": 1, "content": id, "clientMessageId": id})
		} else {
			ack = from.request(send(id, "d:ann:bob", id))
		}
		if ack.Type != "sendAck" || ack.Seq != int64(i+1) {
			t.Fatalf("honest send %d: %s", i, ack.raw)
		}
		acks = append(acks, time.Since(start))
		to.await("honest message "+id, func(f frame) bool {
			return f.Type == "message" && f.msg().SessionID == "d:ann:bob" && f.msg().Seq == ack.Seq
		})
		pushes = append(pushes, time.Since(start))
		if i%4 == 3 {
			// The read models may trail the push: any answer of the right type does.
			if f := to.request(map[string]any{"type": "sync", "id": "s" + id, "sessionId": "d:ann:bob", "afterSeq": max(ack.Seq-5, 0)}); f.Type != "messages" {
				t.Fatalf("honest sync: %s", f.raw)
			}
			if f := to.request(map[string]any{"type": "typing", "id": "t" + id, "sessionId": "d:ann:bob"}); f.Type != "ok" {
				t.Fatalf("honest typing: %s", f.raw)
			}
		}
	}
	return acks, pushes
}

// flood writes the frames next builds, as fast as the server answers them
// (at most abuseWindow unanswered), until stop is closed or the connection
// fails. It returns how many it wrote. It may run on any goroutine.
func (c *client) flood(stop <-chan struct{}, prefix string, next func(i int) any) int {
	ours := func(f frame) bool { return strings.HasPrefix(f.ID, prefix) }
	for i := 0; ; i++ {
		for len(c.matching(ours)) < i-abuseWindow {
			select {
			case <-stop:
				return i
			case <-c.done:
				return i
			case <-c.notify:
			}
		}
		select {
		case <-stop:
			return i
		default:
		}
		data, err := json.Marshal(next(i))
		if err != nil {
			panic(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		err = c.conn.Write(ctx, websocket.MessageText, data)
		cancel()
		if err != nil {
			return i
		}
	}
}

// floodAnswers waits for the answers to a flood of n frames and counts them:
// those of type answer, and those refused with rate_limited. Any other
// answer fails the test.
func (c *client) floodAnswers(prefix string, n int, answer string) (answered, limited int) {
	c.t.Helper()
	for _, f := range c.awaitCount(prefix+" answers", n, func(f frame) bool { return strings.HasPrefix(f.ID, prefix) }) {
		switch {
		case f.Type == answer:
			answered++
		case f.Code == "rate_limited":
			limited++
		default:
			c.t.Errorf("%s flood: answered %s", prefix, f.raw)
		}
	}
	return answered, limited
}

// slothLoop asks for the whole hoard again and again and never reads, until
// the server closes the connection for it (then it reads, and gets the
// close frame), or abort. It is the one abuser that does not stop with the
// honest pair: the test needs its close. It returns how many frames it wrote
// and how long until the close.
func slothLoop(abort <-chan struct{}, e *env, sloth *client, hoard string) (int, time.Duration) {
	start := time.Now()
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	i := 0
	for ; value(e.metrics.SlowClientsClosed) == 0; i++ {
		select {
		case <-abort:
			return i, time.Since(start)
		case <-tick.C:
		}
		data, _ := json.Marshal(map[string]any{"type": "sync", "id": fmt.Sprint("hoard-", i), "sessionId": hoard, "limit": 500})
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := sloth.conn.Write(ctx, websocket.MessageText, data)
		cancel()
		if err != nil {
			break
		}
	}
	// Reading from now on, sloth gets the close frame through what the
	// server still holds for it.
	sloth.startReading()
	return i, time.Since(start)
}

// hydraLoop tries to open one more connection every 50 ms until stop, and
// returns the bodies of the 429 refusals and any other outcome.
func hydraLoop(stop <-chan struct{}, e *env, token string) (refused, other []string) {
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-stop:
			return refused, other
		case <-tick.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		c, resp, err := websocket.Dial(ctx, e.wsURL()+"?token="+token, nil)
		cancel()
		switch {
		case err == nil:
			_ = c.CloseNow()
			other = append(other, "a connection over the limit was upgraded")
		case resp != nil && resp.StatusCode == http.StatusTooManyRequests:
			var body json.RawMessage
			_ = json.NewDecoder(resp.Body).Decode(&body)
			refused = append(refused, string(body))
		default:
			other = append(other, fmt.Sprintf("%v (response %v)", err, resp))
		}
	}
}

// pct is the p-th percentile of durations.
func pct(ds []time.Duration, p int) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[min(len(s)-1, len(s)*p/100)].Round(time.Microsecond)
}
