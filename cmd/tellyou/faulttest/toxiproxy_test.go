package faulttest_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tellyou/tellyou/cmd/tellyou/servertest"
	"github.com/tellyou/tellyou/events/pgstore/pgtest"
)

// netFault is a network fault between node a and one of its dependencies:
// toxics put on node a's proxy to it, or, with no toxics, the proxy
// disabled (the peer gone: connections closed, new ones refused).
type netFault struct {
	name   string
	proxy  func(*toxiNodes) *toxiProxy
	toxics []toxic
}

// The toxics of the faults. A reset_peer toxic of toxicity 0 never fires,
// but while it is in place Toxiproxy opens connections with SO_LINGER 0, so
// that the connections limit_data cuts are reset (RST), not closed.
const (
	lag200ms     toxic = `{"name":"lag","type":"latency","stream":"downstream","attributes":{"latency":200}}`
	upTo64KBs    toxic = `{"name":"narrow-up","type":"bandwidth","stream":"upstream","attributes":{"rate":64}}`
	downTo64KBs  toxic = `{"name":"narrow-down","type":"bandwidth","stream":"downstream","attributes":{"rate":64}}`
	cutAfter16KB toxic = `{"name":"cut","type":"limit_data","stream":"downstream","attributes":{"bytes":16384}}`
	resetOnClose toxic = `{"name":"rst","type":"reset_peer","stream":"upstream","toxicity":0,"attributes":{"timeout":0}}`
	silentUp     toxic = `{"name":"silent-up","type":"timeout","stream":"upstream","attributes":{"timeout":0}}`
	silentDown   toxic = `{"name":"silent-down","type":"timeout","stream":"downstream","attributes":{"timeout":0}}`
)

func pgOfA(n *toxiNodes) *toxiProxy   { return n.pgA }
func natsOfA(n *toxiNodes) *toxiProxy { return n.natsA }

// TestToxiproxyPostgresFaultsUnderLoad breaks the network between node a and
// PostgreSQL, one fault after another, while 200 users spread over nodes a
// and b send 500 messages per second: 200 ms of latency, 64 KB/s each way,
// connections reset after every 16 KB PostgreSQL sends (in the middle of
// appends and reads), a silent socket (nothing passes either way), and the
// peer gone. Each lasts 3 s (20 s in the long variant). Node a is never
// restarted: after each fault it is ready again and acks sends by itself.
func TestToxiproxyPostgresFaultsUnderLoad(t *testing.T) {
	runNetFaults(t, []netFault{
		{name: "PostgreSQL: 200 ms latency", proxy: pgOfA, toxics: []toxic{lag200ms}},
		{name: "PostgreSQL: bandwidth 64 KB/s each way", proxy: pgOfA, toxics: []toxic{upTo64KBs, downTo64KBs}},
		{name: "PostgreSQL: connections reset after every 16 KB", proxy: pgOfA, toxics: []toxic{cutAfter16KB, resetOnClose}},
		{name: "PostgreSQL: silent socket (timeout 0, both ways)", proxy: pgOfA, toxics: []toxic{silentUp, silentDown}},
		{name: "PostgreSQL: peer gone (proxy disabled)", proxy: pgOfA},
	})
}

// TestToxiproxyNATSFaultsUnderLoad does the same between node a and NATS:
// 200 ms of latency, 64 KB/s each way, connections reset after every 16 KB
// NATS sends, a silent socket and the peer gone. Messages keep crossing
// between the nodes (each node's follower of the log delivers what the bus
// does not) and the bus's fast path comes back when NATS does.
func TestToxiproxyNATSFaultsUnderLoad(t *testing.T) {
	runNetFaults(t, []netFault{
		{name: "NATS: 200 ms latency", proxy: natsOfA, toxics: []toxic{lag200ms}},
		{name: "NATS: bandwidth 64 KB/s each way", proxy: natsOfA, toxics: []toxic{upTo64KBs, downTo64KBs}},
		{name: "NATS: connections reset after every 16 KB", proxy: natsOfA, toxics: []toxic{cutAfter16KB, resetOnClose}},
		{name: "NATS: silent socket (timeout 0, both ways)", proxy: natsOfA, toxics: []toxic{silentUp, silentDown}},
		{name: "NATS: peer gone (proxy disabled)", proxy: natsOfA},
	})
}

// toxiNodes are two nodes on one PostgreSQL database and one NATS server of
// the test's own, each reaching both through proxies of its own.
type toxiNodes struct {
	dbURL                  string // the database, directly
	a, b                   *servertest.Node
	pgA, pgB, natsA, natsB *toxiProxy
}

func startToxiNodes(t *testing.T) *toxiNodes {
	t.Helper()
	dbURL := pgtest.NewDatabase(t)
	nats := servertest.NewNATSServer(t)
	db, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	toxi := newToxiServer(t)
	n := &toxiNodes{dbURL: dbURL,
		pgA: toxi.proxy(t, "pg-a", db.Host), pgB: toxi.proxy(t, "pg-b", db.Host),
		natsA: toxi.proxy(t, "nats-a", nats.Addr()), natsB: toxi.proxy(t, "nats-b", nats.Addr())}
	// Through the node's proxy, under the node's name in pg_stat_activity.
	through := func(p *toxiProxy, node string) string {
		u := *db
		u.Host = p.Addr
		q := u.Query()
		q.Set("application_name", "tellyou-"+node)
		u.RawQuery = q.Encode()
		return u.String()
	}
	n.a = startNode(t, "a", through(n.pgA, "a"), "TELLYOU_BUS=nats://"+n.natsA.Addr)
	n.b = startNode(t, "b", through(n.pgB, "b"), "TELLYOU_BUS=nats://"+n.natsB.Addr)
	return n
}

// faultRun is what one fault did.
type faultRun struct {
	fault netFault
	// ready is how long after the fault ended node a's /readyz said 200.
	ready time.Duration
	// acks and pushes are how long after the fault ended the next send on
	// node a was acked, and the next of them reached node b. The stalls are
	// the longest stretches without an ack or a push, from the fault's
	// start until then: of node a's sends, of the pushes from a to b and
	// from b to a, and of node b's sends (which a fault of node a alone
	// should not hold up). The probes wait as long as an overloaded answer's
	// retryAfterMs says (up to 5 s), as clients should: that is part of
	// these figures.
	acks, pushes                     time.Duration
	stallA, stallB, stallAB, stallBA time.Duration
	readyz                           readyzSeen
	errors                           map[string]int
}

func (r faultRun) String() string {
	return strings.Join([]string{
		"node a's sends acked " + dur(r.acks) + " after the fault ended, pushes from a to b " + dur(r.pushes),
		"node a ready " + dur(r.ready) + " after",
		"longest stall of node a's sends " + dur(r.stallA) + ", of node b's " + dur(r.stallB) +
			", of pushes a to b " + dur(r.stallAB) + ", b to a " + dur(r.stallBA),
		"/readyz during the fault: " + r.readyz.String()}, "; ")
}

// runNetFaults starts the nodes and the load, injects the faults one after
// the other on node a's proxies, measures each recovery, and checks the log
// once the load stops.
func runNetFaults(t *testing.T, faults []netFault) {
	length := 3 * time.Second
	if longMode() {
		length = 20 * time.Second
	}
	nodes := startToxiNodes(t)
	f := startFleet(t, []string{nodes.a.Base, nodes.b.Base}, loadUsers, loadRate)
	// Two probe users, one on each node, each sending 20 messages per
	// second to the other: the acks of each node and the pushes each way
	// are told apart from the fleet's, whose every session spans both.
	probeA := startProbeUser(t, nodes.a.Base, "probe-a", "probe-b")
	probeB := startProbeUser(t, nodes.b.Base, "probe-b", "probe-a")
	f.waitAcks(2*loadRate, time.Minute, "sends before the first fault")

	var runs []faultRun
	for _, fault := range faults {
		r := faultRun{fault: fault}
		before := errorsOf(f, probeA, probeB)
		proxy := fault.proxy(nodes)
		since := time.Now()
		if fault.toxics == nil {
			proxy.disable()
		} else {
			proxy.add(t, fault.toxics...)
		}
		polls := pollReadyz(nodes.a)
		time.Sleep(length)
		if fault.toxics == nil {
			proxy.enable(t)
		} else {
			proxy.clear()
		}
		at := time.Now()
		r.readyz = polls.stop(since)
		r.ready = readyAgain(t, nodes.a, time.Minute, fault.name)
		probeA.waitAcks(3, time.Minute, "sends on node a after "+fault.name)
		probeB.waitAcks(3, time.Minute, "sends on node b after "+fault.name)
		f.waitAcks(loadRate, time.Minute, "the fleet's sends after "+fault.name)
		r.acks, _, r.stallA = probeA.resumedAfter(since, at)
		_, r.pushes, r.stallB = probeB.resumedAfter(since, at)
		r.stallAB, r.stallBA = probeB.pushStall(since, at), probeA.pushStall(since, at)
		r.errors = subtract(errorsOf(f, probeA, probeB), before)
		t.Logf("%s for %v: %s; errors %v", fault.name, length, r, r.errors)
		// /readyz answers within a second whatever the dependencies do
		// (handlers/transport/httpapi); the rest is this busy machine.
		if r.readyz.slowest > 2*time.Second {
			t.Errorf("%s: /readyz took %v to answer during the fault; it answers within 1 s", fault.name, r.readyz.slowest.Round(time.Millisecond))
		}
		runs = append(runs, r)
	}

	ctx := context.Background()
	o := f.check(ctx, nodes.dbURL, time.Minute)
	probeA.check(ctx, nodes.dbURL, time.Minute)
	probeB.check(ctx, nodes.dbURL, time.Minute)
	for _, r := range runs {
		// acked, lost and duplicated count the fleet over the whole
		// sequence of faults; the errors are the fleet's and the probes'
		// from this fault's start until node a recovered.
		row := o
		row.errors = r.errors
		report(t, fmt.Sprintf("%s, %v, on node a of 2 (sequence of %d)", r.fault.name, length, len(runs)), loadText, row, r.String())
	}
}

// readyAgain waits until the node answers /readyz with 200 and returns how
// long that took; it fails the test with the node's last reason after limit.
func readyAgain(t *testing.T, n *servertest.Node, limit time.Duration, after string) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		status, reason := n.Ready()
		if status == http.StatusOK {
			return time.Since(start)
		}
		if time.Since(start) > limit {
			t.Fatalf("node %s not ready %v after %s ended: %d %s", n.Name, limit, after, status, reason)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// startProbeUser connects one user to the node at base alone (never to
// another) and has it send a message every 50 ms to partner, each until it
// is acked. It is a fleet of its own, so that its acks and the pushes it
// takes are counted apart.
func startProbeUser(t *testing.T, base, name, partner string) *fleet {
	t.Helper()
	p := &fleet{t: t, bases: []string{base}, errors: map[string]int{}, started: time.Now(), interval: 50 * time.Millisecond}
	p.sending, p.stopSending = context.WithCancel(context.Background())
	u := &loadUser{f: p, name: name, partner: partner, session: directSession(name, partner),
		waiting: map[string]chan map[string]any{}, acked: map[string]place{}, received: map[int64]bool{}}
	p.users = []*loadUser{u}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if !u.connect(ctx) {
		t.Fatalf("%s could not connect to %s", name, base)
	}
	p.wg.Go(func() { u.run(0) })
	t.Cleanup(func() {
		p.stopSending()
		u.close()
	})
	return p
}

// pushStall returns the longest stretch without a push from since to the
// first push after at.
func (f *fleet) pushStall(since, at time.Time) time.Duration {
	f.mu.Lock()
	pushes := slices.Clone(f.pushAt)
	f.mu.Unlock()
	slices.SortFunc(pushes, func(a, b time.Time) int { return a.Compare(b) })
	var longest time.Duration
	for i := 1; i < len(pushes); i++ {
		if pushes[i].Before(since) {
			continue
		}
		longest = max(longest, pushes[i].Sub(pushes[i-1]))
		if pushes[i].After(at) {
			break
		}
	}
	return longest
}

// errorsOf adds up the error counts of fleets.
func errorsOf(fleets ...*fleet) map[string]int {
	sum := map[string]int{}
	for _, f := range fleets {
		for code, n := range f.errorCounts() {
			sum[code] += n
		}
	}
	return sum
}

// subtract returns the counts of now above those of before.
func subtract(now, before map[string]int) map[string]int {
	out := map[string]int{}
	for code, n := range now {
		if d := n - before[code]; d > 0 {
			out[code] = d
		}
	}
	return out
}

// readyzSeen is what /readyz answered while a fault lasted.
type readyzSeen struct {
	polls, ok, notReady, noAnswer int
	firstNotReady                 time.Duration // into the fault; -1 if never
	slowest                       time.Duration
	reasons                       []string
}

func (s readyzSeen) String() string {
	if s.notReady == 0 && s.noAnswer == 0 {
		return fmt.Sprintf("200 in all %d polls (slowest answer %v)", s.polls, s.slowest.Round(time.Millisecond))
	}
	out := fmt.Sprintf("503 in %d of %d polls, the first %v into the fault", s.notReady, s.polls, dur(s.firstNotReady))
	if s.noAnswer > 0 {
		out += fmt.Sprintf(", no answer in %d", s.noAnswer)
	}
	out += fmt.Sprintf(" (slowest answer %v)", s.slowest.Round(time.Millisecond))
	if len(s.reasons) > 0 {
		out += ": " + strings.Join(s.reasons, " / ")
	}
	return out
}

// readyzPoller asks a node's /readyz every 200 ms, one request at a time.
type readyzPoller struct {
	stopPolling context.CancelFunc
	done        chan struct{}
	polls       []readyzPoll
}

type readyzPoll struct {
	at, answered time.Time
	status       int
	reason       string
}

func pollReadyz(n *servertest.Node) *readyzPoller {
	ctx, cancel := context.WithCancel(context.Background())
	p := &readyzPoller{stopPolling: cancel, done: make(chan struct{})}
	go func() {
		defer close(p.done)
		for {
			at := time.Now()
			status, reason := n.Ready()
			p.polls = append(p.polls, readyzPoll{at: at, answered: time.Now(), status: status, reason: reason})
			if !sleepCtx(ctx, 200*time.Millisecond) {
				return
			}
		}
	}()
	return p
}

// stop ends the polling and sums up the answers to the polls made from
// since (the fault's start) on.
func (p *readyzPoller) stop(since time.Time) readyzSeen {
	p.stopPolling()
	<-p.done
	s := readyzSeen{firstNotReady: -1}
	for _, poll := range p.polls {
		if poll.at.Before(since) {
			continue
		}
		s.polls++
		s.slowest = max(s.slowest, poll.answered.Sub(poll.at))
		switch poll.status {
		case http.StatusOK:
			s.ok++
			continue
		case 0:
			s.noAnswer++
		default:
			s.notReady++
			if s.firstNotReady < 0 {
				s.firstNotReady = poll.at.Sub(since)
			}
		}
		reason := poll.reason
		if len(reason) > 120 {
			reason = reason[:120] + "..."
		}
		if !slices.Contains(s.reasons, reason) && len(s.reasons) < 3 {
			s.reasons = append(s.reasons, reason)
		}
	}
	return s
}
