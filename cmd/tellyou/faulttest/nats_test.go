package faulttest_test

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tellyou/tellyou/cmd/tellyou/servertest"
	"github.com/tellyou/tellyou/events/pgstore/pgtest"
)

// natsCycle is one stop of NATS under load and what followed its start.
type natsCycle struct {
	how  string // "restart" (SIGTERM) or "kill" (SIGKILL)
	down time.Duration
	// ready and bus are, per node, how long after NATS's start the node
	// answered /readyz 200 again and received its first event over the bus
	// (-1: not within the limit).
	ready, bus               []time.Duration
	acks, pushes, gap        time.Duration
	notReadyWhileDown        []bool // per node: /readyz refused while NATS was away
	busBefore, busAfterStart []float64
}

// TestNATSRestartsAndKillsUnderLoad stops the NATS server between two nodes
// on one database while 200 users send 500 messages per second, every
// message crossing from one node to the other: cleanly (SIGTERM) and as a
// crash (SIGKILL), then starts it again on the same port and storage after
// a second; the nodes are never restarted. PostgreSQL is the log and every
// node follows it, so sends are acked and messages pushed (by the followers)
// while NATS is away; once it is back, both nodes are ready and receive each
// other's events over the bus again within 15 s. Quick: one of each; long:
// ten of each.
func TestNATSRestartsAndKillsUnderLoad(t *testing.T) {
	rounds := 1
	if longMode() {
		rounds = 10
	}
	ns := servertest.NewNATSServer(t)
	dbURL := pgtest.NewDatabase(t)
	nodes := []*servertest.Node{startNode(t, "a", dbURL, "TELLYOU_BUS="+ns.URL())}
	nodes = append(nodes, startNode(t, "b", dbURL, "TELLYOU_BUS="+ns.URL()))
	f := startFleet(t, []string{nodes[0].Base, nodes[1].Base}, loadUsers, loadRate)
	f.waitAcks(2*loadRate, time.Minute, "sends before the first stop")
	for _, n := range nodes {
		if busEvents(t, n) == 0 {
			t.Errorf("node %s received no event over the bus before NATS stopped", n.Name)
		}
	}

	var cycles []natsCycle
	for i := range 2 * rounds {
		c := natsCycle{how: "restart"}
		if i%2 == 1 {
			c.how = "kill"
		}
		for _, n := range nodes {
			c.busBefore = append(c.busBefore, busEvents(t, n))
		}
		stopped := time.Now()
		if c.how == "kill" {
			ns.Kill(t)
		} else {
			ns.Stop(t)
		}
		// NATS stays away for a second while the clients send.
		notReady := watchNotReady(nodes, time.Second)
		ns.Start(t)
		back := time.Now()
		c.down = back.Sub(stopped)
		c.notReadyWhileDown = notReady
		for _, n := range nodes {
			c.busAfterStart = append(c.busAfterStart, busEvents(t, n))
		}
		c.ready, c.bus = recoveryOf(nodes, c.busAfterStart, back, 15*time.Second)
		f.waitAcks(2*loadRate, time.Minute, fmt.Sprintf("sends after NATS %s %d", c.how, i/2+1))
		c.acks, c.pushes, c.gap = f.resumedAfter(stopped, back)
		t.Logf("%s %d: NATS away %v; nodes not ready while away %v; ready again after its start a %s, b %s; first event over the bus a %s, b %s; acks came %s after its start, pushes %s; sends stalled %s (longest stretch without an ack)",
			c.how, i/2+1, c.down.Round(time.Millisecond), c.notReadyWhileDown, dur(c.ready[0]), dur(c.ready[1]),
			dur(c.bus[0]), dur(c.bus[1]), dur(c.acks), dur(c.pushes), dur(c.gap))
		for k, n := range nodes {
			if c.ready[k] < 0 {
				st, reason := n.Ready()
				t.Errorf("NATS %s %d: node %s not ready 15s after NATS started again: %d %s", c.how, i/2+1, n.Name, st, reason)
			}
			if c.bus[k] < 0 {
				// A restarted server has lost the bus's memory stream and
				// its consumers: the bus must make them again.
				t.Errorf("NATS %s %d: node %s received no event over the bus in the 15s after NATS started again (%v events over the bus before the stop, %v now): the bus did not come back, only the followers of the log deliver",
					c.how, i/2+1, n.Name, c.busBefore[k], busEvents(t, n))
			}
		}
		cycles = append(cycles, c)
	}
	o := f.check(context.Background(), dbURL, time.Minute)
	for _, how := range []string{"restart", "kill"} {
		var ready, bus, acks, pushes, gaps []time.Duration
		notReady, seen := 0, 0
		for _, c := range cycles {
			if c.how == how {
				ready, bus = append(ready, c.ready...), append(bus, c.bus...)
				acks, pushes, gaps = append(acks, c.acks), append(pushes, c.pushes), append(gaps, c.gap)
				for _, nr := range c.notReadyWhileDown {
					seen++
					if nr {
						notReady++
					}
				}
			}
		}
		fault := fmt.Sprintf("NATS %s x%d (%s, 1 s away), two nodes", how, rounds, map[string]string{"restart": "SIGTERM", "kill": "SIGKILL"}[how])
		recovery := strings.Join([]string{"acks after start: " + spread(acks), "pushes: " + spread(pushes),
			"events over the bus again: " + spread(bus),
			fmt.Sprintf("nodes not ready while NATS was away: %d of %d", notReady, seen), "nodes ready after start: " + spread(ready),
			"sends stalled (longest stretch without an ack): " + spread(gaps)}, "; ")
		report(t, fault, loadText, o, recovery)
	}
}

// watchNotReady waits for d and reports, per node, whether /readyz refused
// at least once meanwhile.
func watchNotReady(nodes []*servertest.Node, d time.Duration) []bool {
	out := make([]bool, len(nodes))
	var wg sync.WaitGroup
	deadline := time.Now().Add(d)
	for i, n := range nodes {
		wg.Go(func() {
			for time.Now().Before(deadline) {
				if st, _ := n.Ready(); st != http.StatusOK {
					out[i] = true
				}
				time.Sleep(50 * time.Millisecond)
			}
		})
	}
	wg.Wait()
	// The probes may end past d; the caller's timing starts after this.
	if left := time.Until(deadline); left > 0 {
		time.Sleep(left)
	}
	return out
}

// recoveryOf waits, at most limit, until each node answers /readyz 200 and
// has received an event over the bus beyond busAt (its count at from), and
// returns how long after from each came (-1: not within limit).
func recoveryOf(nodes []*servertest.Node, busAt []float64, from time.Time, limit time.Duration) (ready, bus []time.Duration) {
	ready, bus = make([]time.Duration, len(nodes)), make([]time.Duration, len(nodes))
	var wg sync.WaitGroup
	for i, n := range nodes {
		ready[i], bus[i] = -1, -1
		wg.Go(func() {
			for time.Since(from) < limit && (ready[i] < 0 || bus[i] < 0) {
				if st, _ := n.Ready(); st == http.StatusOK && ready[i] < 0 {
					ready[i] = time.Since(from)
				}
				if bus[i] < 0 {
					if v, err := scrapeBusEvents(n); err == nil && v > busAt[i] {
						bus[i] = time.Since(from)
					}
				}
				time.Sleep(20 * time.Millisecond)
			}
		})
	}
	wg.Wait()
	return ready, bus
}

// busEvents returns how many events node n has received over the bus from
// the other nodes (tellyou_delivery_events_total of source bus, whatever
// became of them).
func busEvents(t *testing.T, n *servertest.Node) float64 {
	t.Helper()
	v, err := scrapeBusEvents(n)
	if err != nil {
		t.Fatalf("node %s: %v", n.Name, err)
	}
	return v
}

func scrapeBusEvents(n *servertest.Node) (float64, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, n.Base+"/metrics", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, fmt.Errorf("read /metrics: %w", err)
	}
	defer resp.Body.Close()
	sum := 0.0
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "tellyou_delivery_events_total{") || !strings.Contains(line, `source="bus"`) {
			continue
		}
		v, err := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64)
		if err != nil {
			return 0, fmt.Errorf("read /metrics: %q: %w", line, err)
		}
		sum += v
	}
	if err := sc.Err(); err != nil {
		return 0, fmt.Errorf("read /metrics: %w", err)
	}
	return sum, nil
}
