// Package loadgen drives a running TellYou server over its real wire contract
// (WebSockets and HTTP, docs/protocol.md) and measures it: throughput of
// sends, sendAcks and pushes, latency from send to sendAck and from send to
// delivery, errors by code, and the server's CPU and memory. `tellyou bench`
// is its command line; bench/run.sh its reference run.
//
// A run is a sequence of steps: one, or one per offered rate of a sweep, or
// one per group size of a fan-out run. Each step is bounded: it waits until
// the server is idle, sends for a duration or a number of messages, waits a
// bounded time for the answers and pushes still in flight, and yields its
// Report. A run of many connections spreads them over worker processes of
// the tellyou binary, whose measurements merge exactly.
package loadgen

import (
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/tellyou/tellyou/handlers/transport/auth"
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

// ConnsPerProcess is how many connections one process of the load tool
// holds at most when Procs is 0: a process here may hold 20,000 file
// descriptors, and needs some for itself.
const ConnsPerProcess = 15000

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
	// Sweep, when set, makes one step per offered rate (messages per second
	// in total; 0 for as fast as possible) on the same connections, in
	// order, instead of one step at Rate. Not for the idle scenario.
	Sweep []float64
	// GroupSizes, when set (group scenario only), makes one step per group
	// size, each with a new group of that many members, all online, sending
	// at Rate. A step whose connections the machine cannot hold, or whose
	// group the server refuses, is reported as skipped.
	GroupSizes []int
	// Duration bounds each step's sending phase (default 10s when Messages
	// is 0); Messages, when set, stops it after that many sends, whichever
	// comes first. The idle scenario holds its connections for Duration.
	Duration  time.Duration
	Messages  int64
	Payload   int // bytes of content per message, default 100 (at least 1)
	GroupSize int // members of the group scenario's group, default 500 (the server's limit applies)
	// ServerPID, when set, is read from /proc for the server's CPU, RSS and
	// file descriptor limit; otherwise the server's /metrics is.
	ServerPID int
	// DebugAddr, when set, is the server's pprof address (tellyou serve
	// --debug-addr): each step also reports the server's live heap, stacks
	// and goroutines, read after a forced garbage collection.
	DebugAddr string
	// Sources is the number of loopback source addresses each process of the
	// load tool spreads its connections over (process i uses 127.0.0.(1+i*n)
	// to 127.0.0.((i+1)*n)), default 1, so that many connections do not run
	// out of ephemeral ports.
	Sources int
	// Procs is the number of processes holding the connections: 1 holds
	// them in this process; more start that many workers (WorkerCommand),
	// each with its share of the users and its own source addresses. 0, the
	// default: 1, or enough workers for ConnsPerProcess each.
	Procs int
	// WorkerCommand starts a worker process (`tellyou bench --worker`);
	// required when the run needs workers. WorkerStderr receives their
	// standard error (default: discarded).
	WorkerCommand []string  `json:"-"`
	WorkerStderr  io.Writer `json:"-"`
	// Secret signs the tokens the run mints for its users (required).
	Secret []byte
	// Drain bounds the wait for answers and pushes after sending stops,
	// default 10s.
	Drain time.Duration
	// Settle bounds the wait, before each step, until the server is idle
	// (under a tenth of a core for 2 s and no push arriving), default 3m;
	// negative: no wait.
	Settle time.Duration
	// DialParallel is the number of connections a process opens at once,
	// default 64.
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
	if c.Settle == 0 {
		c.Settle = 3 * time.Minute
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
	if err := checkLoopback(c.Addr); err != nil {
		return fmt.Errorf("addr: %w", err)
	}
	if c.DebugAddr != "" {
		if err := checkLoopback(c.DebugAddr); err != nil {
			return fmt.Errorf("debug-addr: %w", err)
		}
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
	case c.GroupSize < 2:
		return errors.New("group-size must be at least 2")
	case c.Sources < 1 || c.Procs < 0 || max(c.Procs, 1)*c.Sources > 254:
		return errors.New("sources must be at least 1, procs not negative, and procs x sources at most 254 (loopback addresses)")
	case len(c.Secret) < auth.MinSecretBytes:
		return fmt.Errorf("a signing secret of at least %d bytes is required", auth.MinSecretBytes)
	case c.ServerPID < 0:
		return errors.New("server-pid must not be negative")
	case len(c.Sweep) > 0 && len(c.GroupSizes) > 0:
		return errors.New("a run sweeps either rates or group sizes, not both")
	case len(c.Sweep) > 0 && c.Scenario == ScenarioIdle:
		return errors.New("the idle scenario sends nothing: no rate sweep")
	case len(c.GroupSizes) > 0 && c.Scenario != ScenarioGroup:
		return errors.New("group sizes are for the group scenario")
	}
	for _, r := range c.Sweep {
		if r < 0 {
			return fmt.Errorf("sweep rate %v: want a positive rate or max", r)
		}
	}
	for _, n := range c.GroupSizes {
		if n < 2 {
			return fmt.Errorf("group size %d: a group has at least 2 members", n)
		}
	}
	return nil
}

// checkLoopback accepts a host:port on a loopback address.
func checkLoopback(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%q: %w", addr, err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("%q: the load tool only targets loopback addresses", addr)
	}
	return nil
}
