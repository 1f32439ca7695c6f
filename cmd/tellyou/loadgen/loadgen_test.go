package loadgen_test

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/tellyou/tellyou/cmd/tellyou/loadgen"
	"github.com/tellyou/tellyou/cmd/tellyou/servertest"
	"github.com/tellyou/tellyou/events/pgstore/pgtest"
)

const testSecret = "loadgen-test-secret-0123456789"

// startServer runs `tellyou serve` on a fresh database and a free loopback
// port until the test ends, and returns its address and pid.
func startServer(t *testing.T) (string, int) {
	t.Helper()
	n := servertest.Start(t, tellyouBinary, "server", "TELLYOU_DATABASE_URL="+pgtest.NewDatabase(t),
		"TELLYOU_JWT_SECRET="+testSecret, "TELLYOU_SEND_RATE=1000000", "TELLYOU_SEND_BURST=1000000")
	return n.Addr(), n.Pid()
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
		{name: "group", cfg: loadgen.Config{Scenario: loadgen.ScenarioGroup, GroupSize: 8, Messages: 40, Sources: 2}, pushes: true},
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
	}
	// One at a time: the scenarios share the server.
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			cfg := tt.cfg
			cfg.Addr, cfg.Secret = addr, []byte(testSecret)
			r, err := loadgen.Run(ctx, cfg)
			if err != nil {
				t.Fatal(err)
			}
			var table bytes.Buffer
			if err := r.WriteTable(&table); err != nil {
				t.Fatal(err)
			}
			t.Logf("\n%s", table.String())
			if _, err := json.Marshal(r); err != nil {
				t.Fatalf("report does not encode: %v", err)
			}
			if len(r.Errors) > 0 {
				t.Errorf("errors: %v (first dial error %q)", r.Errors, r.FirstDialError)
			}
			if r.Server.Source == "" {
				t.Errorf("server usage unreadable: %s", r.Server.Error)
			}
			if tt.check != nil {
				tt.check(t, r)
			}
			if cfg.Scenario == loadgen.ScenarioIdle {
				return
			}
			if r.Sent == 0 || r.Acked != r.Sent || r.Unanswered != 0 {
				t.Errorf("sent %d, acked %d, unanswered %d; want every send acked", r.Sent, r.Acked, r.Unanswered)
			}
			if cfg.Messages > 0 && r.Sent != cfg.Messages {
				t.Errorf("sent %d, want --messages %d", r.Sent, cfg.Messages)
			}
			if r.SendAckLatency.Count != r.Acked || r.DeliveryLatency.Count == 0 || r.SendAckLatency.Max <= 0 {
				t.Errorf("histograms: sendAck %+v, delivery %+v; want one sendAck sample per ack and some deliveries", r.SendAckLatency, r.DeliveryLatency)
			}
			if tt.pushes && r.Delivered < r.Acked*int64(r.Recipients) {
				t.Errorf("delivered %d, want at least acked %d x %d recipients", r.Delivered, r.Acked, r.Recipients)
			}
		})
	}
}

func TestConfigRefusesWhatItCannotRun(t *testing.T) {
	t.Parallel()
	secret := []byte(testSecret)
	for _, cfg := range []loadgen.Config{
		{Addr: "10.1.2.3:8080", Secret: secret},
		{Addr: "example.com:80", Secret: secret},
		{Scenario: "storm", Secret: secret},
		{ConnsPerUser: 17, Secret: secret},
		{GroupSize: 1001, Scenario: loadgen.ScenarioGroup, Secret: secret},
		{Rate: -1, Secret: secret},
		{Sources: 255, Secret: secret},
		{Secret: []byte("short")},
	} {
		if _, err := loadgen.Run(context.Background(), cfg); err == nil {
			t.Errorf("Run(%+v) = nil error, want a refusal", cfg)
		}
	}
}
