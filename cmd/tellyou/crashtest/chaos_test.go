package crashtest_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// chaosRun is a crowd of clients sending to direct and group sessions of one
// server, which the test stops and restarts meanwhile.
type chaosRun struct {
	t        *testing.T
	mode     chaosMode
	bed      *testbed
	rng      *rand.Rand
	groups   []group
	clients  []*chatClient
	total    int64
	progress atomic.Int64
	problems problemLog
	// done is closed when every client's run has returned.
	done    chan struct{}
	started time.Time
}

// startChaos starts a server on a fresh database, creates the groups and
// starts the clients. A cleanup stops the clients and waits for them.
func startChaos(t *testing.T, ctx context.Context, mode chaosMode, rng *rand.Rand) *chaosRun {
	t.Helper()
	bed := newTestbed(t, ctx)
	groups, err := createGroups(ctx, bed, mode.users)
	if err != nil {
		t.Fatal(err)
	}
	r := &chaosRun{t: t, mode: mode, bed: bed, rng: rng, groups: groups, done: make(chan struct{}), started: time.Now()}
	plans := planMessages(rng, mode.users, mode.messagesPerUser, groups)
	for i := range mode.users {
		u := userName(i)
		r.clients = append(r.clients, newChatClient(u, bed, mode.window, rng.Uint64(), plans[u], &r.progress, &r.problems))
		r.total += int64(len(plans[u]))
	}
	clientsCtx, stopClients := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for _, c := range r.clients {
		wg.Go(func() { c.run(clientsCtx) })
	}
	go func() {
		wg.Wait()
		close(r.done)
	}()
	t.Cleanup(func() {
		stopClients()
		<-r.done
	})
	return r
}

// stopPoints returns n distinct moments of the run, as counts of acked
// messages between 5% and 95% of all, in ascending order.
func (r *chaosRun) stopPoints(n int) []int64 {
	points := make([]int64, n)
	for i := range points {
		points[i] = r.total/20 + r.rng.Int64N(max(r.total*9/10, 1))
	}
	slices.Sort(points)
	return points
}

// waitAcked waits until at least n messages are acked, or the clients are
// done; it fails on a crash of the server, a client's protocol problem or the
// end of ctx.
func (r *chaosRun) waitAcked(ctx context.Context, n int64) error {
	for r.progress.Load() < n {
		if p := r.problems.all(); len(p) > 0 {
			return fmt.Errorf("a client stopped: %s", p[0])
		}
		select {
		case <-r.done:
			return nil
		case <-r.bed.srv.died:
			crash, _ := r.bed.srv.crashed()
			return fmt.Errorf("while clients sent: %s", crash)
		case <-ctx.Done():
			return fmt.Errorf("waiting for %d acked messages (have %d of %d): %w", n, r.progress.Load(), r.total, ctx.Err())
		case <-time.After(2 * time.Millisecond):
		}
	}
	return nil
}

// pause sleeps a random time below d, so that the stop falls at a random
// moment of the sends in flight.
func (r *chaosRun) pause(d time.Duration) {
	time.Sleep(time.Duration(r.rng.Int64N(int64(d))))
}

// waitClients waits until every client has every message acked. On a
// timeout it says, per client, what is still unacked.
func (r *chaosRun) waitClients(ctx context.Context) error {
	select {
	case <-r.done:
	case <-r.bed.srv.died:
		crash, _ := r.bed.srv.crashed()
		return fmt.Errorf("while clients sent: %s", crash)
	case <-ctx.Done():
		// The clients stop with ctx; their state is then safe to read.
		<-r.done
		var pending []string
		for _, c := range r.clients {
			if ids := c.unacked(); len(ids) > 0 {
				pending = append(pending, fmt.Sprintf("%s: %d unacked, first %s", c.user, len(ids), ids[0]))
			}
		}
		return fmt.Errorf("clients did not get every message acked (%d of %d acked): %w\n%s",
			r.progress.Load(), r.total, ctx.Err(), strings.Join(pending, "\n"))
	}
	if p := r.problems.all(); len(p) > 0 {
		return fmt.Errorf("clients saw %d protocol problems:\n%s", len(p), strings.Join(capped(p, 40), "\n"))
	}
	return nil
}

// stats sums the clients' figures; only after the clients are done.
func (r *chaosRun) stats() clientStats {
	var s clientStats
	for _, c := range r.clients {
		s.add(c.stats)
	}
	return s
}

// verify checks every invariant once the clients are done and the server is
// running: the log against the acks, the read models against the log (audit,
// pulls by every member, session lists) and against a rebuild from the log.
// It returns the number of events in the log.
func (r *chaosRun) verify(ctx context.Context) int {
	t := r.t
	t.Helper()
	logs, err := readLog(ctx, r.bed.db)
	if err != nil {
		t.Fatal(err)
	}
	events := 0
	for _, s := range logs {
		events += len(s.events)
	}
	reportProblems(t, "the log against the acks", checkLog(logs, r.clients))
	for _, s := range logs {
		if len(s.members) == 0 {
			t.Fatalf("session %s has no members in the log", s.id)
		}
	}

	caughtCtx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	if err := waitCaughtUp(caughtCtx, r.bed, logs); err != nil {
		t.Fatal(err)
	}
	problems, pulled, err := checkPulls(ctx, r.bed, logs)
	if err != nil {
		t.Fatal(err)
	}
	reportProblems(t, "history pulled by every member against the log", problems)
	problems, err = checkSessionLists(ctx, r.bed, logs, r.mode.users)
	if err != nil {
		t.Fatal(err)
	}
	reportProblems(t, "session lists against the log", problems)
	problems, err = checkAudit(ctx, r.bed, logs)
	if err != nil {
		t.Fatal(err)
	}
	reportProblems(t, "audit endpoint against the log", problems)
	for _, g := range r.groups {
		problems, err := checkAuditCommand(ctx, r.bed, logs[g.id])
		if err != nil {
			t.Fatal(err)
		}
		reportProblems(t, "tellyou audit against the log", problems)
	}
	problems, out, err := checkRebuild(ctx, r.bed)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	reportProblems(t, "read models built live against a rebuild from the log", problems)
	t.Logf("pulled %d messages over HTTP across all members; rebuild:\n%s", pulled, strings.TrimSpace(out))
	return events
}

// logFigures logs what the run did, for the closing note.
func (r *chaosRun) logFigures(stops string, chaos, checks time.Duration, events int) {
	s := r.stats()
	r.t.Logf("%s mode: %d users, %d groups, %s; messages: %d planned, %d acked, %d send frames, %d resent, "+
		"%d answered duplicate:true, %d probes of acked messages answered duplicate with the original seq; "+
		"send errors %v; %d connections, %d failed dials, server-side ends %v; %d pushes, %d receipt acks (errors %v); "+
		"log %d events; sending with stops %v, checks %v",
		r.mode.name, r.mode.users, len(r.groups), stops, r.total, s.acked, s.sendFrames, s.resent,
		s.duplicates, s.probes, s.sendErrors, s.connections, s.dialFailures, s.closes, s.pushes, s.receiptAcks, s.receiptErrs,
		events, chaos.Round(time.Millisecond), checks.Round(time.Millisecond))
}

// reportProblems fails the test with the problems found by one check.
func reportProblems(t *testing.T, check string, problems []string) {
	t.Helper()
	if len(problems) > 0 {
		t.Errorf("%s: %d problems:\n%s", check, len(problems), strings.Join(capped(problems, 40), "\n"))
	}
}

func capped(list []string, n int) []string {
	if len(list) <= n {
		return list
	}
	return append(slices.Clone(list[:n]), fmt.Sprintf("... and %d more", len(list)-n))
}
