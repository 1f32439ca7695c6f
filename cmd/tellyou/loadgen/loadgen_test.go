package loadgen_test

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/tellyou/tellyou/cmd/tellyou/loadgen"
	"github.com/tellyou/tellyou/cmd/tellyou/servertest"
	"github.com/tellyou/tellyou/events/pgstore/pgtest"
)

const testSecret = "loadgen-test-secret-0123456789"

// startServer runs `tellyou serve` on a fresh database and a free loopback
// port until the test ends, and returns its address and pid.
func startServer(t *testing.T, env ...string) (string, int) {
	t.Helper()
	n := servertest.Start(t, tellyouBinary, "server", append([]string{"TELLYOU_DATABASE_URL=" + pgtest.NewDatabase(t),
		"TELLYOU_JWT_SECRET=" + testSecret, "TELLYOU_SEND_RATE=1000000", "TELLYOU_SEND_BURST=1000000"}, env...)...)
	return n.Addr(), n.Pid()
}

// run plays cfg against addr and returns its step reports, each printed to
// the test log.
func run(t *testing.T, addr string, cfg loadgen.Config) []*loadgen.Report {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cfg.Addr, cfg.Secret = addr, []byte(testSecret)
	cfg.WorkerCommand = []string{tellyouBinary, "bench", "--worker"}
	var reports []*loadgen.Report
	err := loadgen.Run(ctx, cfg, func(r *loadgen.Report) error {
		var table bytes.Buffer
		if err := r.WriteTable(&table); err != nil {
			return err
		}
		t.Logf("\n%s", table.String())
		if _, err := json.Marshal(r); err != nil {
			t.Errorf("report does not encode: %v", err)
		}
		reports = append(reports, r)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return reports
}

// checkEverySendAcked checks a step in which every send should be acked.
func checkEverySendAcked(t *testing.T, r *loadgen.Report) {
	t.Helper()
	if len(r.Errors) > 0 {
		t.Errorf("step %d errors: %v (first dial error %q)", r.Step, r.Errors, r.FirstDialError)
	}
	if r.Sent == 0 || r.Acked != r.Sent || r.Unanswered != 0 {
		t.Errorf("step %d: sent %d, acked %d, unanswered %d; want every send acked", r.Step, r.Sent, r.Acked, r.Unanswered)
	}
	if r.SendAckLatency.Count != r.Acked || r.SendAckFirstLatency.Count != r.Acked || r.DeliveryLatency.Count == 0 || r.SendAckLatency.Max <= 0 {
		t.Errorf("step %d histograms: sendAck %+v, from the first attempt %+v, delivery %+v; want one sample per ack and some deliveries",
			r.Step, r.SendAckLatency, r.SendAckFirstLatency, r.DeliveryLatency)
	}
}

// checkEveryPush checks a step whose recipients all stay online.
func checkEveryPush(t *testing.T, r *loadgen.Report) {
	t.Helper()
	if r.Missing == nil || r.MissingAfter5s == nil || r.ExpectedDeliveries == nil {
		t.Fatalf("step %d: no count of missing deliveries", r.Step)
	}
	if r.Delivered < r.Acked*int64(r.Recipients) || *r.Missing != 0 || *r.ExpectedDeliveries != r.Acked*int64(r.Recipients) {
		t.Errorf("step %d: delivered %d, missing %d of %d; want at least acked %d x %d recipients", r.Step, r.Delivered, *r.Missing,
			*r.ExpectedDeliveries, r.Acked, r.Recipients)
	}
}

func TestScenarios(t *testing.T) {
	t.Parallel()
	addr, pid := startServer(t)
	tests := []struct {
		name   string
		cfg    loadgen.Config
		check  func(t *testing.T, r *loadgen.Report)
		pushes bool // every recipient stays online: delivered >= acked x recipients
	}{
		{name: "direct", cfg: loadgen.Config{Scenario: loadgen.ScenarioDirect, Users: 6, ConnsPerUser: 2, Messages: 120}, pushes: true},
		{name: "direct at a rate", cfg: loadgen.Config{Scenario: loadgen.ScenarioDirect, Users: 4, Rate: 100, Duration: time.Second, ServerPID: pid}, pushes: true},
		{name: "direct over 2 worker processes", cfg: loadgen.Config{Scenario: loadgen.ScenarioDirect, Users: 10, Messages: 101, Procs: 2, Sources: 2}, pushes: true,
			check: func(t *testing.T, r *loadgen.Report) {
				if r.Procs != 2 || r.Connections != 10 {
					t.Errorf("%d procs, %d connections; want 2 and 10", r.Procs, r.Connections)
				}
			}},
		{name: "group", cfg: loadgen.Config{Scenario: loadgen.ScenarioGroup, GroupSize: 8, Messages: 40, Sources: 2}, pushes: true},
		{name: "group over 3 worker processes", cfg: loadgen.Config{Scenario: loadgen.ScenarioGroup, GroupSize: 7, Messages: 30, Procs: 3}, pushes: true},
		{name: "mixed", cfg: loadgen.Config{Scenario: loadgen.ScenarioMixed, Users: 4, Duration: time.Second}, pushes: true,
			check: func(t *testing.T, r *loadgen.Report) {
				if r.AcksSent == 0 || r.AcksOK == 0 {
					t.Errorf("mixed sent %d acks, %d answered ok; want some", r.AcksSent, r.AcksOK)
				}
			}},
		{name: "reconnect", cfg: loadgen.Config{Scenario: loadgen.ScenarioReconnect, Users: 4, Duration: 2 * time.Second},
			check: func(t *testing.T, r *loadgen.Report) {
				if r.Reconnects == 0 || r.Syncs == 0 || r.Connections <= r.Users {
					t.Errorf("reconnect: %d reconnects, %d syncs, %d connections; want reconnections with syncs", r.Reconnects, r.Syncs, r.Connections)
				}
			}},
		{name: "idle", cfg: loadgen.Config{Scenario: loadgen.ScenarioIdle, Users: 20, Duration: 200 * time.Millisecond, ServerPID: pid},
			check: func(t *testing.T, r *loadgen.Report) {
				if r.Sent != 0 || r.Connections != 20 || r.Server.RSSAfter == 0 {
					t.Errorf("idle: sent %d, %d connections, server RSS %d; want 0, 20 and a reading", r.Sent, r.Connections, r.Server.RSSAfter)
				}
			}},
		{name: "idle over 2 worker processes", cfg: loadgen.Config{Scenario: loadgen.ScenarioIdle, Users: 21, Duration: 200 * time.Millisecond, ServerPID: pid, Procs: 2},
			check: func(t *testing.T, r *loadgen.Report) {
				if r.Connections != 21 || r.Procs != 2 || r.Server.RSSAfter == 0 {
					t.Errorf("idle over workers: %d connections, %d procs, server RSS %d; want 21, 2 and a reading", r.Connections, r.Procs, r.Server.RSSAfter)
				}
			}},
	}
	// One at a time: the scenarios share the server.
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := tt.cfg
			cfg.Settle = -1 // nothing else runs on this server
			reports := run(t, addr, cfg)
			if len(reports) != 1 {
				t.Fatalf("%d reports, want 1", len(reports))
			}
			r := reports[0]
			if r.Server.Source == "" {
				t.Errorf("server usage unreadable: %s", r.Server.Error)
			}
			if tt.check != nil {
				tt.check(t, r)
			}
			if cfg.Scenario == loadgen.ScenarioIdle {
				if len(r.Errors) > 0 {
					t.Errorf("errors: %v (first dial error %q)", r.Errors, r.FirstDialError)
				}
				return
			}
			checkEverySendAcked(t, r)
			if cfg.Messages > 0 && r.Sent != cfg.Messages {
				t.Errorf("sent %d, want --messages %d", r.Sent, cfg.Messages)
			}
			if tt.pushes {
				checkEveryPush(t, r)
			}
		})
	}
}

func TestSweepPlaysOneStepPerRateOnTheSameConnections(t *testing.T) {
	t.Parallel()
	addr, pid := startServer(t, "TELLYOU_DEBUG_ADDR=127.0.0.1:0")
	reports := run(t, addr, loadgen.Config{Scenario: loadgen.ScenarioDirect, Users: 6, Sweep: []float64{60, 0},
		Duration: 700 * time.Millisecond, ServerPID: pid})
	if len(reports) != 2 {
		t.Fatalf("%d reports, want 2", len(reports))
	}
	for i, r := range reports {
		if r.Step != i+1 || r.Steps != 2 || r.TargetRate != []float64{60, 0}[i] || r.Connections != 6 {
			t.Errorf("report %d: step %d/%d at %v msg/s on %d connections; want step %d/2 at %v on 6", i, r.Step, r.Steps,
				r.TargetRate, r.Connections, i+1, []float64{60, 0}[i])
		}
		if r.SettleNote != "" || r.SettleSeconds <= 0 {
			t.Errorf("step %d: settled for %.1f s, note %q; want a wait that ended with an idle server", r.Step, r.SettleSeconds, r.SettleNote)
		}
		checkEverySendAcked(t, r)
		checkEveryPush(t, r)
	}
}

func TestFanOutSkipsTheGroupsTheServerRefuses(t *testing.T) {
	t.Parallel()
	addr, _ := startServer(t, "TELLYOU_MAX_GROUP_MEMBERS=5")
	reports := run(t, addr, loadgen.Config{Scenario: loadgen.ScenarioGroup, GroupSizes: []int{3, 6, 5}, Messages: 10, Settle: -1})
	if len(reports) != 3 {
		t.Fatalf("%d reports, want 3", len(reports))
	}
	for _, r := range reports {
		if r.GroupSize != []int{3, 6, 5}[r.Step-1] || r.Users != r.GroupSize {
			t.Errorf("step %d: group of %d for %d users", r.Step, r.GroupSize, r.Users)
		}
	}
	if skip := reports[1].Skipped; !strings.Contains(skip, "at most 5 members") || reports[1].Sent != 0 {
		t.Errorf("the group of 6: skipped %q after %d sends; want a skip naming the server's limit", skip, reports[1].Sent)
	}
	for _, r := range []*loadgen.Report{reports[0], reports[2]} {
		if r.Skipped != "" || r.Recipients != r.GroupSize-1 {
			t.Errorf("the group of %d: skipped %q, %d recipients", r.GroupSize, r.Skipped, r.Recipients)
		}
		checkEverySendAcked(t, r)
		checkEveryPush(t, r)
	}
	var summary bytes.Buffer
	if err := loadgen.WriteSummary(&summary, reports); err != nil || !strings.Contains(summary.String(), "step 2 skipped") {
		t.Errorf("summary %q, %v; want the skipped step named", summary.String(), err)
	}
}

func TestLargeGroupsAreCreatedInChunks(t *testing.T) {
	t.Parallel()
	addr, _ := startServer(t)
	var members []string
	for i := range 40 {
		members = append(members, "chunk-member-"+strings.Repeat("x", i%7)+string(rune('a'+i%26))+string(rune('a'+i/26)))
	}
	session, err := loadgen.CreateGroupInChunks(context.Background(), addr, []byte(testSecret), members, 200)
	if err != nil {
		t.Fatal(err)
	}
	// The session list trails the log by the projection lag.
	var got []string
	for range 200 {
		if got, err = loadgen.GroupMembers(context.Background(), addr, []byte(testSecret), members[0], session); err != nil {
			t.Fatal(err)
		}
		if len(got) == len(members) {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("the group has %d members, want %d", len(got), len(members))
}

func TestConfigRefusesWhatItCannotRun(t *testing.T) {
	t.Parallel()
	secret := []byte(testSecret)
	for _, cfg := range []loadgen.Config{
		{Addr: "10.1.2.3:8080", Secret: secret},
		{Addr: "example.com:80", Secret: secret},
		{DebugAddr: "10.0.0.1:6060", Secret: secret},
		{Scenario: "storm", Secret: secret},
		{ConnsPerUser: 17, Secret: secret},
		{GroupSize: 1, Scenario: loadgen.ScenarioGroup, Secret: secret},
		{Rate: -1, Secret: secret},
		{Sources: 255, Secret: secret},
		{Sources: 100, Procs: 3, Secret: secret},
		{Secret: []byte("short")},
		{Sweep: []float64{100}, GroupSizes: []int{10}, Scenario: loadgen.ScenarioGroup, Secret: secret},
		{Sweep: []float64{100}, Scenario: loadgen.ScenarioIdle, Secret: secret},
		{GroupSizes: []int{10}, Secret: secret},
		{Sweep: []float64{-5}, Secret: secret},
	} {
		if err := loadgen.Run(context.Background(), cfg, func(*loadgen.Report) error { return nil }); err == nil {
			t.Errorf("Run(%+v) = nil error, want a refusal", cfg)
		}
	}
}
