package crashtest_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
)

// gracefulMode sizes TestGracefulRestartLosesNothingAcked.
func gracefulMode() chaosMode {
	if longMode() {
		return chaosMode{name: "long", users: 12, messagesPerUser: 1000, window: 8, stops: 8, timeout: 30 * time.Minute}
	}
	return chaosMode{name: "quick", users: 12, messagesPerUser: 20, window: 4, stops: 2, timeout: 4 * time.Minute}
}

// TestGracefulRestartLosesNothingAcked stops the server with SIGTERM while
// clients send. The server must exit with status 0, and close every
// connection with 1001 going away after answering the frame it was handling:
// every send is then either acked (and durable) or unanswered on a closed
// connection, and resent after the restart with the same clientMessageId.
// The same invariants as after kills must hold.
func TestGracefulRestartLosesNothingAcked(t *testing.T) {
	t.Parallel()
	mode := gracefulMode()
	ctx, cancel := context.WithTimeout(context.Background(), mode.timeout)
	defer cancel()
	rng := newRand(t)
	run := startChaos(t, ctx, mode, rng)

	terms := 0
	lastRestart := int64(0)
	for _, point := range run.stopPoints(mode.stops) {
		if err := run.waitAcked(ctx, max(point, lastRestart+int64(mode.users))); err != nil {
			t.Fatal(err)
		}
		run.pause(20 * time.Millisecond)
		// serve's own shutdown grace is 15s; a minute means it hangs.
		if err := run.bed.srv.terminate(time.Minute); err != nil {
			t.Fatalf("SIGTERM %d: %v", terms+1, err)
		}
		terms++
		if err := run.bed.restart(ctx); err != nil {
			t.Fatalf("restart after SIGTERM %d: %v", terms, err)
		}
		lastRestart = run.progress.Load()
	}
	if err := run.waitClients(ctx); err != nil {
		t.Fatal(err)
	}
	chaos := time.Since(run.started)
	// Every connection the server ended, it ended by the shutdown: with 1001.
	for kind, n := range run.stats().closes {
		if !strings.HasPrefix(kind, "close 1001") {
			t.Errorf("%d connections ended by %s during graceful restarts, want close 1001 (going away)", n, kind)
		}
	}
	checksStarted := time.Now()
	events := run.verify(ctx)
	run.logFigures(fmt.Sprintf("%d SIGTERMs", terms), chaos, time.Since(checksStarted), events)
}
