package faulttest_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tellyou/tellyou/cmd/tellyou/servertest"
)

// pgCycle is one stop of PostgreSQL under load and what followed its start.
type pgCycle struct {
	how                      string // "restart" (clean) or "crash" (immediate)
	down                     time.Duration
	ready, acks, pushes, gap time.Duration
}

// TestPostgresRestartsAndCrashesUnderLoad stops PostgreSQL under one node
// while 200 users send 500 messages per second: cleanly (pg_ctl stop -m
// fast) and as a crash (-m immediate, what `pg_ctlcluster ... stop -m
// immediate` runs), then starts it again; the node is never restarted. Each
// time sends are refused as unavailable while the database is gone and
// resume on their own once it is back. Quick: one of each; long: ten of each.
func TestPostgresRestartsAndCrashesUnderLoad(t *testing.T) {
	rounds := 1
	if longMode() {
		rounds = 10
	}
	pg := servertest.NewPGServer(t)
	dbURL := pg.URL("tellyou")
	n := startNode(t, "a", dbURL)
	f := startFleet(t, []string{n.Base}, loadUsers, loadRate)
	f.waitAcks(2*loadRate, time.Minute, "sends before the first stop")

	var cycles []pgCycle
	for i := range 2 * rounds {
		c := pgCycle{how: "restart"}
		if i%2 == 1 {
			c.how = "crash"
		}
		stopped := time.Now()
		if c.how == "crash" {
			pg.Crash(t)
		} else {
			pg.Stop(t)
		}
		// The database stays away for a second while the clients send.
		time.Sleep(time.Second)
		pg.Start(t)
		back := time.Now()
		c.down = back.Sub(stopped)
		c.ready = waitReady(t, n, time.Minute)
		f.waitAcks(2*loadRate, time.Minute, fmt.Sprintf("sends after %s %d", c.how, i/2+1))
		c.acks, c.pushes, c.gap = f.resumedAfter(stopped, back)
		t.Logf("%s %d: database away %v; node ready %v after its start; acks came %s after its start, pushes %s; sends stalled %s (longest stretch without an ack)",
			c.how, i/2+1, c.down.Round(time.Millisecond), c.ready.Round(time.Millisecond), dur(c.acks), dur(c.pushes), dur(c.gap))
		cycles = append(cycles, c)
	}
	o := f.check(context.Background(), dbURL, time.Minute)
	for _, how := range []string{"restart", "crash"} {
		var ready, acks, pushes, gaps []time.Duration
		for _, c := range cycles {
			if c.how == how {
				ready, acks, pushes, gaps = append(ready, c.ready), append(acks, c.acks), append(pushes, c.pushes), append(gaps, c.gap)
			}
		}
		fault := fmt.Sprintf("PostgreSQL %s x%d (pg_ctl stop -m %s, 1 s away), one node", how, rounds, map[string]string{"restart": "fast", "crash": "immediate"}[how])
		recovery := strings.Join([]string{"acks after start: " + spread(acks), "pushes: " + spread(pushes),
			"node ready: " + spread(ready), "sends stalled (longest stretch without an ack): " + spread(gaps)}, "; ")
		report(t, fault, loadText, o, recovery)
	}
}
