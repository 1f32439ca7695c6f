package faulttest_test

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

	"github.com/tellyou/tellyou/cmd/tellyou/servertest"
	"github.com/tellyou/tellyou/events/pgstore/pgtest"
)

// killRound is one SIGKILL of node a under load and what followed.
type killRound struct {
	// acked and received are, for each of a's clients, how long after the
	// kill it had a send acked again (through b), and was pushed or synced
	// a message again.
	acked, received []time.Duration
	pushes, gap     time.Duration
	bNotReady       time.Duration // how long b answered /readyz otherwise meanwhile
	// leases is how many projections b took over from a, and takeover
	// how long after the kill it held the last of them (-1: none).
	leases       int
	takeover     time.Duration
	restartReady time.Duration // node a started again: until it was ready (long mode)
}

// TestNodeKilledWhileItsClientsSend kills node a of two nodes (one
// database, one NATS) with SIGKILL while 200 users send 500 messages per
// second, half of them on a, each chatting with a user on b. a's clients
// reconnect to b, resend what was not acked and sync; nothing acked is lost
// or stored twice and every message reaches its recipient. Quick: one kill;
// long: five, node a started again on its address between them and its
// clients moved back to it.
func TestNodeKilledWhileItsClientsSend(t *testing.T) {
	kills := 1
	if longMode() {
		kills = 5
	}
	ns := servertest.NewNATSServer(t)
	dbURL := pgtest.NewDatabase(t)
	bus := "TELLYOU_BUS=" + ns.URL()
	first := startNode(t, "a", dbURL, bus)
	b := startNode(t, "b", dbURL, bus)
	addrA := first.Addr()
	killA := first.Kill
	f := startFleet(t, []string{first.Base, b.Base}, loadUsers, loadRate)
	var clientsOfA []*loadUser
	for _, u := range f.users {
		if u.home == 0 {
			clientsOfA = append(clientsOfA, u)
		}
	}
	f.waitAcks(2*loadRate, time.Minute, "sends before the first kill")

	var rounds []killRound
	moved := map[string]int{} // errors caused by moving clients back to a restarted a
	for i := range kills {
		var r killRound
		acked := &progress{count: ackCounts, before: ackCounts(clientsOfA), failure: "had no send acked"}
		received := &progress{count: receivedCounts, before: receivedCounts(clientsOfA), failure: "received nothing"}
		errsBefore := f.errorCounts()
		killed := time.Now()
		killA()
		watchB := watchReadiness(t, b.Base)
		waitEach(t, clientsOfA, killed, time.Minute, acked, received)
		r.acked, r.received = acked.times, received.times
		f.waitAcks(2*loadRate, time.Minute, fmt.Sprintf("sends after kill %d", i+1))
		r.bNotReady = watchB()
		_, r.pushes, r.gap = f.resumedAfter(killed, killed)
		r.leases, r.takeover = leasesTaken(t, b.Logs(), killed)
		takeover := "no projection (a held none)"
		if r.leases > 0 {
			takeover = fmt.Sprintf("%d projections, the last %s after the kill", r.leases, dur(r.takeover))
		}
		t.Logf("kill %d: a's %d clients had a send acked again after %s, received again after %s; first push %s; sends stalled %s (longest stretch without an ack); b not ready for %s meanwhile; b took over %s; errors meanwhile %v",
			i+1, len(clientsOfA), spread(r.acked), spread(r.received), dur(r.pushes), dur(r.gap), dur(r.bNotReady), takeover, errorsSince(errsBefore, f.errorCounts()))
		if i < kills-1 {
			started := time.Now()
			a := startNodeOn(t, fmt.Sprintf("a%d", i+2), addrA, dbURL, bus)
			r.restartReady = time.Since(started)
			killA = a.Kill
			errs := f.errorCounts()
			comeHome(t, clientsOfA)
			for code, n := range errorsSince(errs, f.errorCounts()) {
				moved[code] += n
			}
			t.Logf("node a started again on %s, ready after %s; its clients came back", addrA, dur(r.restartReady))
		}
		rounds = append(rounds, r)
	}
	o := f.check(context.Background(), dbURL, time.Minute)
	var acked, received, pushes, gaps, bNotReady, restarts, takeovers []time.Duration
	for i, r := range rounds {
		if r.leases > 0 {
			takeovers = append(takeovers, r.takeover)
		}
		acked, received = append(acked, r.acked...), append(received, r.received...)
		pushes, gaps, bNotReady = append(pushes, r.pushes), append(gaps, r.gap), append(bNotReady, r.bNotReady)
		if i < len(rounds)-1 {
			restarts = append(restarts, r.restartReady)
		}
	}
	recovery := []string{"a's clients, each: a send acked again after " + spread(acked),
		"a message received again (push or sync) after " + spread(received),
		"first push: " + spread(pushes), "sends stalled (longest stretch without an ack): " + spread(gaps),
		"b not ready: " + spread(bNotReady), "b took over a's projections after: " + spread(takeovers)}
	if len(restarts) > 0 {
		recovery = append(recovery, "a started again, ready after: "+spread(restarts))
		var movedErrs []string
		for code, n := range moved {
			o.errors[code] -= n
			if o.errors[code] == 0 {
				delete(o.errors, code)
			}
			movedErrs = append(movedErrs, fmt.Sprintf("%s x%d", code, n))
		}
		slices.Sort(movedErrs)
		recovery = append(recovery, "moving a's clients back (not counted in the errors): "+strings.Join(movedErrs, ", "))
	}
	fault := fmt.Sprintf("node killed (SIGKILL) x%d while its %d clients send, two nodes", kills, len(clientsOfA))
	report(t, fault, loadText, o, strings.Join(recovery, "; "))
}

// errorsSince returns the counts of now that grew since before, by how much.
func errorsSince(before, now map[string]int) map[string]int {
	out := map[string]int{}
	for code, n := range now {
		if d := n - before[code]; d > 0 {
			out[code] = d
		}
	}
	return out
}

// ackCounts returns how many sends of each user were acked so far.
func ackCounts(users []*loadUser) []int {
	out := make([]int, len(users))
	for i, u := range users {
		u.mu.Lock()
		out[i] = len(u.acked)
		u.mu.Unlock()
	}
	return out
}

// receivedCounts returns how many messages of its session each user was
// pushed or synced.
func receivedCounts(users []*loadUser) []int {
	out := make([]int, len(users))
	for i, u := range users {
		u.mu.Lock()
		out[i] = len(u.received)
		u.mu.Unlock()
	}
	return out
}

// progress is what waitEach watches: a count per user, and how long after
// the fault it grew beyond before for each user.
type progress struct {
	count   func([]*loadUser) []int
	before  []int
	failure string // what the users lacking progress did not do, for the failure

	done    []bool
	waiting int
	times   []time.Duration // per user, once it made progress, in order
}

// waitEach waits, at most limit after since, until every progress has grown
// beyond its before for every user, and sets its times to how long after
// since that happened for each.
func waitEach(t *testing.T, users []*loadUser, since time.Time, limit time.Duration, ps ...*progress) {
	t.Helper()
	waiting := 0
	for _, p := range ps {
		p.done, p.waiting, p.times = make([]bool, len(users)), len(users), nil
		waiting += len(users)
	}
	for waiting > 0 {
		for _, p := range ps {
			if p.waiting == 0 {
				continue
			}
			now := p.count(users)
			for i := range users {
				if !p.done[i] && now[i] > p.before[i] {
					p.done[i] = true
					p.waiting--
					waiting--
					p.times = append(p.times, time.Since(since))
				}
			}
		}
		if waiting == 0 {
			return
		}
		if time.Since(since) > limit {
			for _, p := range ps {
				var stuck []string
				for i, u := range users {
					if !p.done[i] {
						stuck = append(stuck, u.name)
					}
				}
				if len(stuck) > 0 {
					t.Errorf("%d of %d users %s within %v: %s", len(stuck), len(users), p.failure, limit, strings.Join(capped(stuck, 10), ", "))
				}
			}
			t.FailNow()
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// leasesTaken reads a node's log for the projection leases it took since
// then: how many, and how long after then it took the last (-1: none).
func leasesTaken(t *testing.T, logs string, since time.Time) (int, time.Duration) {
	t.Helper()
	n, last := 0, time.Duration(-1)
	for _, line := range strings.Split(logs, "\n") {
		if !strings.Contains(line, `"projection lease taken"`) {
			continue
		}
		var entry struct{ Time time.Time }
		if err := json.Unmarshal([]byte(line), &entry); err != nil {
			t.Fatalf("read the node's log: %q: %v", line, err)
		}
		if entry.Time.Before(since) {
			continue
		}
		n++
		last = max(last, entry.Time.Sub(since))
	}
	return n, last
}

// watchReadiness polls the node at base until the returned function is
// called (at the latest when the test ends), which returns how long, in
// all, /readyz did not answer 200.
func watchReadiness(t *testing.T, base string) func() time.Duration {
	stop := make(chan struct{})
	total := make(chan time.Duration, 1)
	go func() {
		var notReady time.Duration
		last := time.Now()
		for {
			st := readyStatus(base)
			now := time.Now()
			if st != http.StatusOK {
				notReady += now.Sub(last)
			}
			last = now
			select {
			case <-stop:
				total <- notReady
				return
			case <-time.After(50 * time.Millisecond):
			}
		}
	}()
	var once sync.Once
	var result time.Duration
	end := func() time.Duration {
		once.Do(func() {
			close(stop)
			result = <-total
		})
		return result
	}
	t.Cleanup(func() { end() })
	return end
}

func readyStatus(base string) int {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/readyz", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// comeHome moves users back to their home node, started again: it drops
// their connections and waits until each had a send acked since (the
// fleet reconnects to the home node first).
func comeHome(t *testing.T, users []*loadUser) {
	t.Helper()
	acked := &progress{count: ackCounts, before: ackCounts(users), failure: "had no send acked"}
	since := time.Now()
	for _, u := range users {
		u.drop()
	}
	waitEach(t, users, since, time.Minute, acked)
}
