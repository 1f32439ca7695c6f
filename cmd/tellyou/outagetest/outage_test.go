package outagetest_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/tellyou/tellyou/cmd/tellyou/servertest"
)

// sent is what a sendAck promised: the message's place in its session.
type sent struct {
	seq       int64
	messageID string
}

// TestDatabaseOutage crashes the PostgreSQL server under two running nodes
// while a client sends, and starts it again, without touching the nodes.
// During the outage every send is refused as unavailable, never acked, and
// /readyz blames the event store. Afterwards, with nothing restarted: the
// nodes are ready again on their own, sends are acked, pushes flow between
// the nodes (node b hears of node a's appends through its LISTEN connection,
// which must have come back), every acked message is in the log, and the
// history read model holds the whole log with no gap.
func TestDatabaseOutage(t *testing.T) {
	t.Parallel()
	pg := servertest.NewPGServer(t)
	url := pg.URL("tellyou")
	// No redelivery during the test: every push bob gets comes from the log.
	a := startNode(t, "a", url, "TELLYOU_REDELIVERY_TIMEOUT=1h")
	b := startNode(t, "b", url, "TELLYOU_REDELIVERY_TIMEOUT=1h")
	ann, bob := a.dial(t, "ann"), b.dial(t, "bob")
	acks := &ackBook{acked: map[string]sent{}, refused: map[string]string{}}

	// Before: messages flow from ann on node a to bob on node b.
	for i := range 5 {
		acks.mustAck(t, ann, fmt.Sprintf("before-%d", i))
	}
	waitFor(t, 30*time.Second, "bob's first pushes", func() bool { return len(bob.received()) >= 5 })

	// The outage, while ann keeps sending.
	stopSending := make(chan struct{})
	var sender sync.WaitGroup
	sender.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stopSending:
				return
			case <-time.After(20 * time.Millisecond):
			}
			if !acks.try(ann, fmt.Sprintf("during-%d", i)) {
				return
			}
		}
	})
	waitFor(t, 30*time.Second, "sends before the crash", func() bool { return acks.count() >= 10 })
	pg.Crash(t)
	crashed := acks.count()
	waitFor(t, 30*time.Second, "sends refused during the outage", func() bool { return acks.refusals() >= 5 })
	for _, n := range []*node{a, b} {
		waitFor(t, 30*time.Second, "node "+n.Name+" to be not ready", func() bool {
			status, reason := n.Ready()
			return status == http.StatusServiceUnavailable && strings.Contains(reason, "event store")
		})
	}
	close(stopSending)
	sender.Wait()
	if err := acks.failure(); err != nil {
		t.Fatal(err)
	}
	for cid, code := range acks.refusedCopy() {
		if code != "unavailable" {
			t.Errorf("send %s during the outage refused with %q, want unavailable", cid, code)
		}
	}
	t.Logf("%d sends acked before the crash, %d after it (committed just before), %d refused as unavailable",
		crashed, acks.count()-crashed, acks.refusals())

	// Recovery: the database comes back; the nodes are not restarted.
	restarted := time.Now()
	pg.Start(t)
	for _, n := range []*node{a, b} {
		waitFor(t, 60*time.Second, "node "+n.Name+" to be ready again, with nothing sent", func() bool {
			status, _ := n.Ready()
			return status == http.StatusOK
		})
		t.Logf("node %s ready %v after the database was started", n.Name, time.Since(restarted))
	}
	// Each node LISTENs again (pgstore reconnects its listener on its own),
	// and it is what wakes node b for node a's appends: node b polls the log
	// only once a second, so only a wake-up gets pushes across this fast,
	// this often.
	waitFor(t, 30*time.Second, "a LISTEN connection per node", func() bool { return listeners(t, url) == 2 })
	var latencies []time.Duration
	for i := range 12 {
		cid := fmt.Sprintf("after-%d", i)
		start := time.Now()
		acks.mustAck(t, ann, cid)
		waitFor(t, 30*time.Second, "the push of "+cid, func() bool { return pushed(bob, cid) })
		latencies = append(latencies, pushAt(bob, cid).Sub(start))
		time.Sleep(30 * time.Millisecond) // let node b settle into waiting for a wake-up
	}
	t.Logf("send-to-push latencies across nodes after the outage: %v", latencies)
	prompt := 0
	for _, l := range latencies {
		if l < 300*time.Millisecond {
			prompt++
		}
	}
	if prompt < 9 {
		t.Errorf("only %d of %d pushes crossed nodes within 300ms (%v): node b is not woken by node a's appends", prompt, len(latencies), latencies)
	}

	// Nothing acked was lost, and the log has no gap.
	session := "d:ann:bob"
	log := messagesInLog(t, url, session)
	for cid, ack := range acks.ackedCopy() {
		if got, ok := log[cid]; !ok || got != ack {
			t.Errorf("send %s acked as %+v, but the log holds %+v (present: %v)", cid, ack, got, ok)
		}
	}
	last := int64(len(log))
	for _, m := range log {
		if m.seq < 1 || m.seq > last {
			t.Fatalf("log seqs are not 1..%d: %v", last, log)
		}
	}

	// History caught up from its checkpoint: every message of the log, no gap.
	var history struct {
		Messages []struct {
			Seq       int64  `json:"seq"`
			MessageID string `json:"messageId"`
		} `json:"messages"`
		LastSeq int64 `json:"lastSeq"`
	}
	waitFor(t, 30*time.Second, "history to hold the whole log", func() bool {
		b.get(t, "bob", fmt.Sprintf("/v1/sessions/%s/messages?afterSeq=0&limit=200", session), &history)
		return history.LastSeq == last && int64(len(history.Messages)) == last
	})
	bySeq := map[int64]string{}
	for _, m := range log {
		bySeq[m.seq] = m.messageID
	}
	for i, m := range history.Messages {
		if m.Seq != int64(i+1) || m.MessageID != bySeq[m.Seq] {
			t.Fatalf("history message %d is seq %d %s, want seq %d %s", i, m.Seq, m.MessageID, i+1, bySeq[int64(i+1)])
		}
	}

	// Every message of the log was pushed to bob, in seq order.
	var seqs []int64
	for _, p := range bob.received() {
		seqs = append(seqs, p.seq)
	}
	if !slices.IsSorted(seqs) || len(slices.Compact(slices.Clone(seqs))) != int(last) {
		t.Errorf("bob was pushed seqs %v, want each of 1..%d, in order", seqs, last)
	}
}

// ackBook keeps what the sender was answered.
type ackBook struct {
	mu      sync.Mutex
	acked   map[string]sent
	refused map[string]string // clientMessageId -> error code
	err     error
}

// try sends one message and books the answer; false when the connection
// failed (the reason is kept for failure).
func (b *ackBook) try(c *client, cid string) bool {
	f, err := c.tryRequest(sendFrame("bob", cid))
	b.mu.Lock()
	defer b.mu.Unlock()
	switch {
	case err != nil:
		b.err = err
		return false
	case f["type"] == "sendAck":
		b.acked[cid] = sent{seq: int64(f["seq"].(float64)), messageID: f["messageId"].(string)}
	case f["type"] == "error":
		b.refused[cid] = fmt.Sprint(f["code"])
	default:
		b.err = fmt.Errorf("send %s answered %v", cid, f)
		return false
	}
	return true
}

func (b *ackBook) mustAck(t *testing.T, c *client, cid string) {
	t.Helper()
	f := c.request(sendFrame("bob", cid))
	if f["type"] != "sendAck" {
		t.Fatalf("send %s answered %v, want a sendAck", cid, f)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.acked[cid] = sent{seq: int64(f["seq"].(float64)), messageID: f["messageId"].(string)}
}

func (b *ackBook) count() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.acked)
}

func (b *ackBook) refusals() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.refused)
}

func (b *ackBook) failure() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.err
}

func (b *ackBook) ackedCopy() map[string]sent {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make(map[string]sent, len(b.acked))
	for k, v := range b.acked {
		out[k] = v
	}
	return out
}

func (b *ackBook) refusedCopy() map[string]string {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make(map[string]string, len(b.refused))
	for k, v := range b.refused {
		out[k] = v
	}
	return out
}

func pushed(c *client, cid string) bool { return !pushAt(c, cid).IsZero() }

// pushAt is when the client was first pushed the message, zero if never.
func pushAt(c *client, cid string) time.Time {
	for _, p := range c.received() {
		if p.clientID == cid {
			return p.at
		}
	}
	return time.Time{}
}

// messagesInLog reads the session's MessageSent events straight from the
// event log, by clientMessageId.
func messagesInLog(t *testing.T, url, session string) map[string]sent {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT data->>'clientMessageId', (data->>'seq')::bigint, data->>'messageId'
		FROM tellyou_events WHERE stream_id = $1 AND type = 'MessageSent'`, session)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]sent{}
	for rows.Next() {
		var cid string
		var m sent
		if err := rows.Scan(&cid, &m.seq, &m.messageID); err != nil {
			t.Fatal(err)
		}
		out[cid] = m
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// listeners counts the connections LISTENing for appends on the database.
func listeners(t *testing.T, url string) int {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var n int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity
		WHERE datname = current_database() AND query ILIKE 'listen%'`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}
