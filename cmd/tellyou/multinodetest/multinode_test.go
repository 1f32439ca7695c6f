package multinodetest_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tellyou/tellyou/cmd/tellyou/servertest"
	"github.com/tellyou/tellyou/events/pgstore/pgtest"
	"github.com/tellyou/tellyou/projections"
)

// sent is an acked message and the device that sent it.
type sent struct {
	at   key
	from *device
}

// TestTwoNodesChatAndSurviveOneDying runs two nodes on one database and the
// machine's NATS: users on different nodes chat in a direct and a group
// session (concurrently through both nodes), every online device gets every
// message; then one node is killed, its projection leases and its clients
// move to the other, and nothing acked is lost.
func TestTwoNodesChatAndSurviveOneDying(t *testing.T) {
	if !natsReachable() {
		t.Skip("no NATS server at 127.0.0.1:4222; start it with: nats-server -a 127.0.0.1 -p 4222 -js")
	}
	start := time.Now()
	prefix := "mntest_" + randomHex(6)
	t.Cleanup(func() { servertest.DeleteNATSStreams(t, prefix+"_events") })
	dbURL := pgtest.NewDatabase(t)
	env := []string{"TELLYOU_DATABASE_URL=" + dbURL, "TELLYOU_BUS=nats://127.0.0.1:4222", "TELLYOU_BUS_PREFIX=" + prefix,
		"TELLYOU_REDELIVERY_TIMEOUT=3s", "TELLYOU_SEND_RATE=1000", "TELLYOU_SEND_BURST=1000",
		"TELLYOU_RETENTION_SWEEP=1s"} // the sweeper's lease is retried as often as it sweeps
	a := startNode(t, "a", env...)
	b := startNode(t, "b", env...) // a started first: it holds every lease
	t.Logf("nodes ready after %v", time.Since(start))
	db, err := pgx.Connect(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close(context.Background())
	// One lease per projection, and the retention sweeper's.
	leases := len(projections.All()) + 1
	holdersBefore := leaseHolders(t, db)
	if len(holdersBefore) != leases {
		t.Fatalf("lease holders = %v, want one per projection and the retention sweeper's", holdersBefore)
	}

	annA, bobA := dial(t, a, "ann@a", "ann"), dial(t, a, "bob@a", "bob")
	annB, catB, danB := dial(t, b, "ann@b", "ann"), dial(t, b, "cat@b", "cat"), dial(t, b, "dan@b", "dan")
	devices := []*device{annA, bobA, annB, catB, danB}
	var group struct {
		SessionID string `json:"sessionId"`
	}
	a.call(t, "POST", "ann", "/v1/sessions", map[string]any{"title": "scale-out", "members": []string{"bob", "cat", "dan"}}, &group)
	members := map[string][]string{group.SessionID: {"ann", "bob", "cat", "dan"}, "d:ann:cat": {"ann", "cat"}}

	var mu sync.Mutex
	var acked []sent
	sendAll := func(d *device, target map[string]any, n int, tag string) {
		for i := range n {
			k, err := d.send(target, fmt.Sprintf("%s-%s-%d", d.name, tag, i))
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			acked = append(acked, sent{k, d})
			mu.Unlock()
		}
	}
	// Direct both ways across the nodes, and four senders on one group
	// through both nodes at once.
	sendStart := time.Now()
	var wg sync.WaitGroup
	wg.Go(func() { sendAll(annA, map[string]any{"toUserId": "cat"}, 10, "direct") })
	wg.Go(func() { sendAll(catB, map[string]any{"toUserId": "ann"}, 10, "direct") })
	for _, d := range []*device{annA, bobA, catB, danB} {
		wg.Go(func() { sendAll(d, map[string]any{"sessionId": group.SessionID}, 15, "group") })
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	assertContiguous(t, acked)
	took := waitDelivered(t, devices, acked, members)
	t.Logf("%d messages sent through both nodes and delivered to every device in %v (delivery wait %v)",
		len(acked), time.Since(sendStart), took)

	// Typing is relayed over the bus to the other members on both nodes,
	// never to the typist's own devices.
	if f, err := annA.request(map[string]any{"type": "typing", "sessionId": group.SessionID}); err != nil || f["type"] != "ok" {
		t.Fatalf("typing: %v %v", f, err)
	}
	waitFor(t, 15*time.Second, "the typing notice on both nodes", func() bool {
		return bobA.sawTyping(group.SessionID, "ann") && catB.sawTyping(group.SessionID, "ann") && danB.sawTyping(group.SessionID, "ann")
	})
	if annB.sawTyping(group.SessionID, "ann") {
		t.Fatal("ann's other device got her own typing notice")
	}

	// Kill a: its leases go to b, its clients reconnect to b and sync.
	killedAt := time.Now()
	a.kill()
	failover := waitFor(t, 15*time.Second, "b to hold every projection lease", func() bool {
		now := leaseHolders(t, db)
		return len(now) == leases && !slices.ContainsFunc(now, func(pid int32) bool { return slices.Contains(holdersBefore, pid) })
	})
	t.Logf("projection leases moved to b %v after the kill", failover)
	before := len(acked)
	sendAll(catB, map[string]any{"sessionId": group.SessionID}, 5, "after-kill")
	sendAll(catB, map[string]any{"toUserId": "ann"}, 5, "after-kill")
	reconnected := len(acked)
	annA2, bobA2 := dial(t, b, "ann@a-reconnected", "ann"), dial(t, b, "bob@a-reconnected", "bob")
	for _, d := range []*device{annA2, bobA2} {
		for session, ms := range members {
			if !slices.Contains(ms, d.user) {
				continue
			}
			held := lastSeqSeen(annA, session)
			if d.user == "bob" {
				held = lastSeqSeen(bobA, session)
			}
			got := d.sync(session, held)
			want := seqsOf(acked, session)
			want = slices.DeleteFunc(want, func(s int64) bool { return s <= held })
			if !slices.Equal(got, want) {
				t.Errorf("%s synced %s after %d: %v, want %v", d.name, session, held, got, want)
			}
		}
	}
	t.Logf("clients of a reconnected to b and synced %d messages sent meanwhile, %v after the kill",
		len(acked)-before, time.Since(killedAt))
	sendAll(annA2, map[string]any{"sessionId": group.SessionID}, 5, "on-b")
	assertContiguous(t, acked)
	// b's own devices were online throughout; a's reconnected ones from
	// their sync on.
	waitDelivered(t, []*device{annB, catB, danB}, acked[before:], members)
	waitDelivered(t, []*device{annB, catB, danB, annA2, bobA2}, acked[reconnected:], members)

	// Everything acked is in the log and in the history b serves.
	for session := range members {
		var h struct {
			Messages []struct {
				Seq int64 `json:"seq"`
			} `json:"messages"`
			LastSeq int64 `json:"lastSeq"`
		}
		want := seqsOf(acked, session)
		waitFor(t, 10*time.Second, "history of "+session, func() bool {
			b.call(t, "GET", "ann", "/v1/sessions/"+session+"/messages?afterSeq=0&limit=200", nil, &h)
			return len(h.Messages) == len(want)
		})
		for i, m := range h.Messages {
			if m.Seq != int64(i+1) {
				t.Fatalf("history of %s: seq %d at %d", session, m.Seq, i)
			}
		}
		var log struct {
			Events []struct {
				Type string `json:"type"`
			} `json:"events"`
		}
		b.call(t, "GET", "auditor", "/v1/audit/sessions/"+session+"/events?fromVersion=0&limit=1000", nil, &log, "auditor")
		n := 0
		for _, e := range log.Events {
			if e.Type == "MessageSent" {
				n++
			}
		}
		if n != len(want) {
			t.Errorf("log of %s holds %d MessageSent, want %d", session, n, len(want))
		}
	}
	dups := 0
	for _, d := range append(devices, annA2, bobA2) {
		for _, n := range d.counts() {
			dups += n - 1
		}
	}
	t.Logf("%d messages, %d duplicate pushes seen; whole test %v", len(acked), dups, time.Since(start))
}

// waitDelivered waits until every device has been pushed, at least once,
// every message of its user's sessions but those it sent itself.
func waitDelivered(t *testing.T, devices []*device, acked []sent, members map[string][]string) time.Duration {
	t.Helper()
	return waitFor(t, 20*time.Second, "every message pushed to every online device", func() bool {
		for _, d := range devices {
			got := d.counts()
			for _, s := range acked {
				if s.from != d && slices.Contains(members[s.at.session], d.user) && got[s.at] == 0 {
					return false
				}
			}
		}
		return true
	})
}

// assertContiguous checks that each session's acked seqs are 1..n once each.
func assertContiguous(t *testing.T, acked []sent) {
	t.Helper()
	sessions := map[string]bool{}
	for _, s := range acked {
		sessions[s.at.session] = true
	}
	for session := range sessions {
		seqs := seqsOf(acked, session)
		for i, s := range seqs {
			if s != int64(i+1) {
				t.Fatalf("acked seqs of %s are not 1..%d: %v", session, len(seqs), seqs)
			}
		}
	}
}

// seqsOf returns the session's acked seqs, sorted.
func seqsOf(acked []sent, session string) []int64 {
	var out []int64
	for _, s := range acked {
		if s.at.session == session {
			out = append(out, s.at.seq)
		}
	}
	slices.Sort(out)
	return out
}

// lastSeqSeen is the highest seq of the session the device was pushed, with
// nothing missing below it: where a client resumes from.
func lastSeqSeen(d *device, session string) int64 {
	got := d.counts()
	var seq int64
	for got[key{session, seq + 1}] > 0 {
		seq++
	}
	return seq
}

// leaseHolders returns the backends holding advisory locks in the test's
// database: the projection leases.
func leaseHolders(t *testing.T, db *pgx.Conn) []int32 {
	t.Helper()
	var pids []int32
	err := db.QueryRow(context.Background(), `SELECT coalesce(array_agg(pid ORDER BY pid), '{}') FROM pg_locks
		WHERE locktype = 'advisory' AND granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`).Scan(&pids)
	if err != nil {
		t.Fatalf("read lease holders: %v", err)
	}
	return pids
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
