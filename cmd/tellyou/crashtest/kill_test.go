package crashtest_test

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// killMode sizes TestKillNineLosesNothingAcked.
func killMode() chaosMode {
	if longMode() {
		return chaosMode{name: "long", users: 12, messagesPerUser: 2500, window: 8, stops: 50, timeout: 50 * time.Minute}
	}
	return chaosMode{name: "quick", users: 12, messagesPerUser: 40, window: 4, stops: 3, timeout: 4 * time.Minute}
}

// TestKillNineLosesNothingAcked kills the server with SIGKILL at random
// moments while clients have sends in flight, and now and then again while it
// recovers, restarting it each time on the same database and port. The
// clients resend whatever was not acked. At the end nothing acked may be
// missing, no seq may be missing or repeated, no resend may have made a
// second message, and the read models must equal a rebuild from the log.
func TestKillNineLosesNothingAcked(t *testing.T) {
	t.Parallel()
	mode := killMode()
	ctx, cancel := context.WithTimeout(context.Background(), mode.timeout)
	defer cancel()
	rng := newRand(t)
	run := startChaos(t, ctx, mode, rng)

	kills, duringRecovery := 0, 0
	lastRestart := int64(0)
	for i, point := range run.stopPoints(mode.stops) {
		// Some sends must be acked since the last restart, so that the kill
		// falls among sends in flight on the new process.
		if err := run.waitAcked(ctx, max(point, lastRestart+int64(mode.users))); err != nil {
			t.Fatal(err)
		}
		run.pause(20 * time.Millisecond)
		if err := run.bed.srv.kill(); err != nil {
			t.Fatalf("kill %d: %v", kills+1, err)
		}
		kills++
		// Once in quick mode, a quarter of the time in long mode: kill it
		// again while it starts and recovers.
		if (mode.name == "quick" && i == 1) || (mode.name == "long" && run.rng.IntN(4) == 0) {
			if err := run.bed.srv.start(); err != nil {
				t.Fatal(err)
			}
			// The server listens some 30-80ms after its start here: the kill
			// falls in its startup or among the first resends.
			run.pause(120 * time.Millisecond)
			if err := run.bed.srv.kill(); err != nil {
				t.Fatalf("kill %d (while recovering): %v", kills+1, err)
			}
			kills++
			duringRecovery++
		}
		if err := run.bed.restart(ctx); err != nil {
			t.Fatalf("restart after kill %d: %v", kills, err)
		}
		lastRestart = run.progress.Load()
	}
	if err := run.waitClients(ctx); err != nil {
		t.Fatal(err)
	}
	chaos := time.Since(run.started)
	checksStarted := time.Now()
	events := run.verify(ctx)
	run.logFigures(fmt.Sprintf("%d SIGKILLs (%d of them while the server recovered)", kills, duringRecovery),
		chaos, time.Since(checksStarted), events)
}
