// Package loadgen drives a running TellYou server over its real wire contract
// (WebSockets and HTTP, docs/protocol.md) and measures it: throughput of
// sends, sendAcks and pushes, latency from send to sendAck and from send to
// delivery, errors by code, and the server's CPU and memory. `tellyou bench`
// is its command line; bench/run.sh its reference run.
//
// A run is bounded: it sends for a duration or a number of messages, waits a
// bounded time for answers and pushes still in flight, closes every
// connection and returns its Report.
package loadgen

import (
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/tellyou/tellyou/handlers/auth"
)

// Scenarios a run can play.
const (
	ScenarioDirect    = "direct"    // 1:1 chat across pairs of users
	ScenarioGroup     = "group"     // one group, every member online: fan-out
	ScenarioMixed     = "mixed"     // direct chat plus frequent received and read acks
	ScenarioReconnect = "reconnect" // direct chat; clients drop, reconnect and sync
	ScenarioIdle      = "idle"      // idle connections only: server memory per connection
)

// Scenarios lists every scenario, in the order of the usage text.
var Scenarios = []string{ScenarioDirect, ScenarioGroup, ScenarioMixed, ScenarioReconnect, ScenarioIdle}

// Config is one run. Zero values take the defaults of setDefaults.
type Config struct {
	// Addr is the server's host:port, default 127.0.0.1:8080. Only
	// loopback addresses are accepted.
	Addr     string
	Scenario string // default direct
	// Users is the number of users (default 100; rounded up to an even
	// number for the pair scenarios). The group scenario uses GroupSize
	// users instead.
	Users        int
	ConnsPerUser int // connections (devices) per user, default 1, at most 16 (the server's default limit)
	// Rate is the messages per second sent in total, spread evenly over the
	// connections; 0 sends as fast as the server answers, with at most
	// InFlight unanswered sends per connection.
	Rate     float64
	InFlight int // unanswered sends per connection, default 4
	// Duration bounds the sending phase (default 10s when Messages is 0);
	// Messages, when set, stops it after that many sends, whichever comes
	// first. The idle scenario holds its connections for Duration.
	Duration  time.Duration
	Messages  int64
	Payload   int // bytes of content per message, default 100 (at least 1)
	GroupSize int // members of the group scenario's group, default 500, at most 1000
	// ServerPID, when set, is read from /proc for the server's CPU and RSS;
	// otherwise the server's /metrics is.
	ServerPID int
	// Sources is the number of loopback source addresses (127.0.0.1,
	// 127.0.0.2, ...) the connections are spread over, default 1, so that
	// many connections do not run out of ephemeral ports.
	Sources int
	// Secret signs the tokens the run mints for its users (required).
	Secret []byte
	// Drain bounds the wait for answers and pushes after sending stops,
	// default 10s.
	Drain time.Duration
	// DialParallel is the number of connections opened at once, default 64.
	DialParallel int
}

func (c *Config) setDefaults() {
	if c.Addr == "" {
		c.Addr = "127.0.0.1:8080"
	}
	if c.Scenario == "" {
		c.Scenario = ScenarioDirect
	}
	if c.Users == 0 {
		c.Users = 100
	}
	if c.ConnsPerUser == 0 {
		c.ConnsPerUser = 1
	}
	if c.InFlight == 0 {
		c.InFlight = 4
	}
	if c.Duration == 0 && c.Messages == 0 {
		c.Duration = 10 * time.Second
	}
	if c.Payload == 0 {
		c.Payload = 100
	}
	if c.GroupSize == 0 {
		c.GroupSize = 500
	}
	if c.Sources == 0 {
		c.Sources = 1
	}
	if c.Drain == 0 {
		c.Drain = 10 * time.Second
	}
	if c.DialParallel == 0 {
		c.DialParallel = 64
	}
	if c.Scenario == ScenarioGroup {
		c.Users = c.GroupSize
	} else if c.Users%2 == 1 && c.Scenario != ScenarioIdle {
		c.Users++
	}
}

// Validate reports the first problem with c (after defaults).
func (c *Config) Validate() error {
	host, _, err := net.SplitHostPort(c.Addr)
	if err != nil {
		return fmt.Errorf("addr %q: %w", c.Addr, err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("addr %q: the load tool only targets loopback addresses", c.Addr)
	}
	known := false
	for _, s := range Scenarios {
		known = known || s == c.Scenario
	}
	switch {
	case !known:
		return fmt.Errorf("unknown scenario %q (known: %v)", c.Scenario, Scenarios)
	case c.Users < 1:
		return errors.New("users must be at least 1")
	case c.Scenario != ScenarioIdle && c.Users < 2:
		return errors.New("users must be at least 2")
	case c.ConnsPerUser < 1 || c.ConnsPerUser > 16:
		return errors.New("conns-per-user must be 1-16")
	case c.Rate < 0:
		return errors.New("rate must be 0 (as fast as possible) or positive")
	case c.InFlight < 1:
		return errors.New("in-flight must be at least 1")
	case c.Duration < 0 || c.Messages < 0:
		return errors.New("duration and messages must not be negative")
	case c.Payload < 1 || c.Payload > 32<<10:
		return errors.New("payload must be 1-32768 bytes")
	case c.GroupSize < 2 || c.GroupSize > 1000:
		return errors.New("group-size must be 2-1000")
	case c.Sources < 1 || c.Sources > 254:
		return errors.New("sources must be 1-254")
	case len(c.Secret) < auth.MinSecretBytes:
		return fmt.Errorf("a signing secret of at least %d bytes is required", auth.MinSecretBytes)
	case c.ServerPID < 0:
		return errors.New("server-pid must not be negative")
	}
	return nil
}
