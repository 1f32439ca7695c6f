package faulttest_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/tellyou/tellyou/handlers/transport/auth"
)

// testSecret signs every token of these tests; the nodes get it as
// TELLYOU_JWT_SECRET.
const testSecret = "faulttest-secret-0123456789abcdef"

// place is what a sendAck promised: the message's place in its session.
type place struct {
	seq       int64
	messageID string
}

// fleet is the load of a test: users in pairs, each pair chatting in its
// direct session, each user on one connection to a node of its own choice
// (the other user of its pair on the next node, so that with two nodes every
// message crosses between them). Together they send at a steady rate, one
// message at a time per user, each resent unchanged until it is acked.
type fleet struct {
	t       *testing.T
	bases   []string // the nodes' http://host:port
	users   []*loadUser
	started time.Time
	// interval is how often one user sends: users / rate.
	interval time.Duration

	mu       sync.Mutex
	errors   map[string]int // error codes answered to sends, and connection troubles
	ackTimes []time.Time
	pushAt   []time.Time

	sending     context.Context // ends when the test stops the load
	stopSending context.CancelFunc
	wg          sync.WaitGroup
}

// startFleet connects users (an even number) to the nodes at bases and
// starts them sending rate messages per second in all, until stop.
func startFleet(t *testing.T, bases []string, users int, rate float64) *fleet {
	t.Helper()
	f := &fleet{t: t, bases: bases, errors: map[string]int{}, started: time.Now(),
		interval: time.Duration(float64(users) / rate * float64(time.Second))}
	f.sending, f.stopSending = context.WithCancel(context.Background())
	for i := range users {
		partner := i ^ 1
		u := &loadUser{f: f, name: fmt.Sprintf("u%03d", i), partner: fmt.Sprintf("u%03d", partner), home: i % len(bases),
			waiting: map[string]chan map[string]any{}, acked: map[string]place{}, received: map[int64]bool{}}
		u.session = directSession(u.name, u.partner)
		f.users = append(f.users, u)
	}
	// Everyone is connected before anyone sends, so that the first pushes
	// find their recipients online.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, u := range f.users {
		if !u.connect(ctx) {
			t.Fatalf("%s could not connect to any node", u.name)
		}
	}
	for _, u := range f.users {
		phase := time.Duration(rand.Int64N(int64(f.interval)))
		f.wg.Go(func() { u.run(phase) })
	}
	t.Cleanup(func() {
		f.stopSending()
		for _, u := range f.users {
			u.close()
		}
	})
	return f
}

func directSession(a, b string) string {
	if b < a {
		a, b = b, a
	}
	return "d:" + a + ":" + b
}

// stop ends the sending and waits, at most limit, until every message sent
// is acked; it fails the test for those that are not.
func (f *fleet) stop(limit time.Duration) {
	f.t.Helper()
	f.stopSending()
	done := make(chan struct{})
	go func() {
		f.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(limit):
		var stuck []string
		for _, u := range f.users {
			if p := u.pendingID(); p != "" {
				stuck = append(stuck, u.name+":"+p)
			}
		}
		f.t.Fatalf("%d messages still not acked %v after the load stopped: %s", len(stuck), limit, strings.Join(capped(stuck, 10), ", "))
	}
}

// note counts an error code answered to a send, or a connection trouble.
func (f *fleet) note(what string) {
	f.mu.Lock()
	f.errors[what]++
	f.mu.Unlock()
}

func (f *fleet) noteAck(at time.Time) {
	f.mu.Lock()
	f.ackTimes = append(f.ackTimes, at)
	f.mu.Unlock()
}

func (f *fleet) notePush(at time.Time) {
	f.mu.Lock()
	f.pushAt = append(f.pushAt, at)
	f.mu.Unlock()
}

// acked counts the acks so far.
func (f *fleet) acked() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.ackTimes)
}

// errorCounts returns what went wrong so far, by code.
func (f *fleet) errorCounts() map[string]int {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make(map[string]int, len(f.errors))
	for k, v := range f.errors {
		out[k] = v
	}
	return out
}

// resumedAfter returns how long after at the first ack and the first push
// came (-1 when none came), and the longest stretch without an ack from
// since to that first ack after at: how long the clients' sends stalled
// around a fault that began at since and ended at at.
func (f *fleet) resumedAfter(since, at time.Time) (ack, push, longestAckGap time.Duration) {
	f.mu.Lock()
	acks := slices.Clone(f.ackTimes)
	pushes := slices.Clone(f.pushAt)
	f.mu.Unlock()
	byTime := func(a, b time.Time) int { return a.Compare(b) }
	slices.SortFunc(acks, byTime)
	slices.SortFunc(pushes, byTime)
	first := func(ts []time.Time) (int, time.Duration) {
		i, _ := slices.BinarySearchFunc(ts, at, byTime)
		if i == len(ts) {
			return i, -1
		}
		return i, ts[i].Sub(at)
	}
	end, ack := first(acks)
	_, push = first(pushes)
	start, _ := slices.BinarySearchFunc(acks, since, byTime)
	for i := max(start, 1); i <= end && i < len(acks); i++ {
		longestAckGap = max(longestAckGap, acks[i].Sub(acks[i-1]))
	}
	return ack, push, longestAckGap
}

// waitAcks waits until n more messages than now are acked, at most limit.
func (f *fleet) waitAcks(n int, limit time.Duration, what string) {
	f.t.Helper()
	want := f.acked() + n
	deadline := time.Now().Add(limit)
	for f.acked() < want {
		if time.Now().After(deadline) {
			f.t.Fatalf("%s: %d of %d acks after %v; errors so far %v", what, f.acked(), want, limit, f.errorCounts())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// loadUser is one user of the fleet with one connection at a time.
type loadUser struct {
	f                      *fleet
	name, partner, session string
	home                   int // index of the node the user connects to first

	mu        sync.Mutex
	conn      *websocket.Conn
	waiting   map[string]chan map[string]any
	nextFrame int
	pending   string // clientMessageId of the message being sent, "" when none
	acked     map[string]place
	received  map[int64]bool // seqs of the session pushed or synced to the user
	closed    bool
}

// lateWait is how long a request that got no answer within its limit waits
// on for one, to log whether it came late or not at all.
const lateWait = 30 * time.Second

// errConnLost is a request whose connection ended before its answer.
var errConnLost = errors.New("connection lost")

// run sends one message every interval, starting after phase, each until it
// is acked; it returns once the sending stops and nothing is pending.
func (u *loadUser) run(phase time.Duration) {
	f := u.f
	if !sleepCtx(f.sending, phase) {
		return
	}
	tick := time.NewTicker(f.interval)
	defer tick.Stop()
	// Resends and reconnects run past the end of the sending, bounded by
	// the test's stop.
	for n := 0; ; n++ {
		select {
		case <-f.sending.Done():
			return
		case <-tick.C:
		}
		cid := fmt.Sprintf("%s-%06d", u.name, n)
		u.mu.Lock()
		u.pending = cid
		u.mu.Unlock()
		u.sendUntilAcked(cid)
		u.mu.Lock()
		closed := u.closed
		u.pending = ""
		u.mu.Unlock()
		if closed {
			return
		}
	}
}

// sendUntilAcked sends the message cid, and again after each failure, until
// it is acked or the user is closed.
func (u *loadUser) sendUntilAcked(cid string) {
	f := u.f
	frame := map[string]any{"type": "send", "toUserId": u.partner, "messageType": 1,
		"content": fmt.Sprintf("%s says %s", u.name, cid), "clientMessageId": cid, "clientTimestamp": time.Now().UnixMilli()}
	backoff := 50 * time.Millisecond
	for !u.isClosed() {
		if !u.connected() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			ok := u.connect(ctx)
			cancel()
			if !ok {
				time.Sleep(backoff)
				backoff = min(2*backoff, 2*time.Second)
				continue
			}
		}
		answer, err := u.request(frame, 15*time.Second)
		if err != nil {
			f.note(err.Error())
			u.drop()
			continue
		}
		switch answer["type"] {
		case "sendAck":
			at := time.Now()
			seq, _ := answer["seq"].(float64)
			id, _ := answer["messageId"].(string)
			u.mu.Lock()
			u.acked[cid] = place{seq: int64(seq), messageID: id}
			u.mu.Unlock()
			f.noteAck(at)
			return
		case "error":
			code := fmt.Sprint(answer["code"])
			f.note(code)
			wait := 100 * time.Millisecond
			if ms, ok := answer["retryAfterMs"].(float64); ok && ms > 0 {
				wait = time.Duration(ms) * time.Millisecond
			}
			time.Sleep(wait)
		default:
			f.note(fmt.Sprintf("answered %v", answer["type"]))
			time.Sleep(100 * time.Millisecond)
		}
	}
}

// connect dials the user's home node, then the others, once each; on success
// it syncs what the user missed while away. false when no node took it.
func (u *loadUser) connect(ctx context.Context) bool {
	f := u.f
	for k := range f.bases {
		base := f.bases[(u.home+k)%len(f.bases)]
		tok, err := auth.Mint([]byte(testSecret), auth.Principal{UserID: u.name}, time.Now(), 24*time.Hour)
		if err != nil {
			f.t.Errorf("mint token: %v", err)
			return false
		}
		wsURL := strings.Replace(base, "http://", "ws://", 1) + "/v1/ws?token=" + url.QueryEscape(tok)
		dialCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
		conn, _, err := websocket.Dial(dialCtx, wsURL, nil)
		cancel()
		if err != nil {
			f.note("dial failed")
			continue
		}
		conn.SetReadLimit(1 << 20)
		u.mu.Lock()
		if u.closed {
			u.mu.Unlock()
			conn.CloseNow()
			return false
		}
		u.conn = conn
		u.mu.Unlock()
		go u.read(conn)
		if !u.sync() {
			u.drop()
			continue
		}
		return true
	}
	return false
}

// sync pages through the session from the highest seq the user holds
// without a gap; false when the connection failed meanwhile.
func (u *loadUser) sync() bool {
	for {
		after := u.heldSeq()
		answer, err := u.request(map[string]any{"type": "sync", "sessionId": u.session, "afterSeq": after, "limit": 200}, 15*time.Second)
		if err != nil {
			u.f.note("sync: " + err.Error())
			return false
		}
		if answer["type"] == "error" {
			if answer["code"] == "not_found" { // no message in the session yet
				return true
			}
			u.f.note("sync: " + fmt.Sprint(answer["code"]))
			return false
		}
		msgs, _ := answer["messages"].([]any)
		u.mu.Lock()
		for _, m := range msgs {
			if seq, ok := m.(map[string]any)["seq"].(float64); ok {
				u.received[int64(seq)] = true
			}
		}
		u.mu.Unlock()
		if answer["hasMore"] != true || len(msgs) == 0 {
			return true
		}
	}
}

// heldSeq is the highest seq below which the user holds every message of the
// session, its own (acked) and the partner's (received).
func (u *loadUser) heldSeq() int64 {
	u.mu.Lock()
	defer u.mu.Unlock()
	own := map[int64]bool{}
	for _, p := range u.acked {
		own[p.seq] = true
	}
	s := int64(0)
	for u.received[s+1] || own[s+1] {
		s++
	}
	return s
}

// read routes answers to their requests and takes message pushes, acking
// each as received, until the connection ends.
func (u *loadUser) read(conn *websocket.Conn) {
	defer u.lost(conn)
	for {
		_, data, err := conn.Read(context.Background())
		if err != nil {
			if status := websocket.CloseStatus(err); status != -1 {
				u.f.note(fmt.Sprintf("closed by the server: %d", status))
			}
			return
		}
		var frame map[string]any
		if json.Unmarshal(data, &frame) != nil {
			u.f.note("undecodable frame")
			continue
		}
		if id, ok := frame["id"].(string); ok && frame["type"] != "message" {
			u.mu.Lock()
			ch := u.waiting[id]
			delete(u.waiting, id)
			u.mu.Unlock()
			if ch != nil {
				ch <- frame
			}
			continue
		}
		if frame["type"] != "message" {
			continue
		}
		m, _ := frame["message"].(map[string]any)
		seq, _ := m["seq"].(float64)
		if m["sessionId"] != u.session || seq < 1 {
			u.f.note("push of another session")
			continue
		}
		u.f.notePush(time.Now())
		u.mu.Lock()
		u.received[int64(seq)] = true
		u.mu.Unlock()
		ack, _ := json.Marshal(map[string]any{"type": "ack", "sessionId": u.session, "seq": int64(seq), "ackType": "received"})
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_ = conn.Write(ctx, websocket.MessageText, ack)
		cancel()
	}
}

// lost forgets a connection that ended and fails the requests waiting on it.
func (u *loadUser) lost(conn *websocket.Conn) {
	conn.CloseNow()
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.conn != conn {
		return
	}
	u.conn = nil
	for id, ch := range u.waiting {
		close(ch)
		delete(u.waiting, id)
	}
}

// request writes a frame with a fresh id and waits for its answer.
func (u *loadUser) request(frame map[string]any, limit time.Duration) (map[string]any, error) {
	u.mu.Lock()
	conn := u.conn
	if conn == nil {
		u.mu.Unlock()
		return nil, errConnLost
	}
	u.nextFrame++
	id := fmt.Sprintf("%s-f%d", u.name, u.nextFrame)
	answer := make(chan map[string]any, 1)
	u.waiting[id] = answer
	u.mu.Unlock()
	frame["id"] = id
	data, err := json.Marshal(frame)
	if err != nil {
		return nil, err
	}
	written := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	if err := conn.Write(ctx, websocket.MessageText, data); err != nil {
		return nil, errConnLost
	}
	select {
	case f, ok := <-answer:
		if !ok {
			return nil, errConnLost
		}
		return f, nil
	case <-ctx.Done():
		// Failed; but wait a while longer, on the same connection, to tell
		// an answer that comes late from one that never comes.
		late := time.NewTimer(lateWait)
		defer late.Stop()
		select {
		case f, ok := <-answer:
			if !ok {
				u.f.t.Logf("%s: %s frame %s: the connection ended %v after it was written, without its answer", u.name,
					frame["type"], id, time.Since(written).Round(time.Millisecond))
				break
			}
			u.f.t.Logf("%s: %s frame %s answered %v after it was written: %v %v", u.name, frame["type"], id,
				time.Since(written).Round(time.Millisecond), f["type"], f["code"])
		case <-late.C:
			u.f.t.Logf("%s: %s frame %s not answered %v after it was written", u.name, frame["type"], id,
				time.Since(written).Round(time.Millisecond))
		}
		u.mu.Lock()
		delete(u.waiting, id)
		u.mu.Unlock()
		return nil, errors.New("no answer within " + limit.String())
	}
}

func (u *loadUser) connected() bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.conn != nil
}

func (u *loadUser) isClosed() bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.closed
}

func (u *loadUser) pendingID() string {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.pending
}

// drop closes the current connection and forgets it at once (its reader
// would only after it noticed), so that the next request reconnects instead
// of failing on the dead connection again.
func (u *loadUser) drop() {
	u.mu.Lock()
	conn := u.conn
	u.mu.Unlock()
	if conn != nil {
		u.lost(conn)
	}
}

// close ends the user: no more sends or reconnects.
func (u *loadUser) close() {
	u.mu.Lock()
	u.closed = true
	conn := u.conn
	u.mu.Unlock()
	if conn != nil {
		conn.CloseNow()
	}
}

// ackedCopy returns the user's acked messages by clientMessageId.
func (u *loadUser) ackedCopy() map[string]place {
	u.mu.Lock()
	defer u.mu.Unlock()
	out := make(map[string]place, len(u.acked))
	for k, v := range u.acked {
		out[k] = v
	}
	return out
}

// sleepCtx pauses for d; false when ctx ended first.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

func capped(list []string, n int) []string {
	if len(list) <= n {
		return list
	}
	return append(slices.Clone(list[:n]), fmt.Sprintf("... and %d more", len(list)-n))
}
