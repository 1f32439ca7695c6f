package main

import (
	"fmt"
	"net"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/tellyou/tellyou/handlers/command"
	"github.com/tellyou/tellyou/handlers/feedbus"
	"github.com/tellyou/tellyou/handlers/notify"
	"github.com/tellyou/tellyou/handlers/presence"
	"github.com/tellyou/tellyou/handlers/retention"
	"github.com/tellyou/tellyou/handlers/transport/ws"
)

// config is the server's configuration, read from TELLYOU_* environment
// variables.
type config struct {
	Addr         string        // TELLYOU_ADDR, default 127.0.0.1:8080
	DatabaseURL  string        // TELLYOU_DATABASE_URL
	EventStore   string        // TELLYOU_EVENTSTORE: "postgres" (default) or esdb://...
	Bus          string        // TELLYOU_BUS: "memory" (default) or nats://host:port (JetStream)
	BusPrefix    string        // TELLYOU_BUS_PREFIX: names the NATS stream and subjects, default "tellyou"
	JWTSecret    string        // TELLYOU_JWT_SECRET; empty: generated and kept in the database
	MaxClockSkew time.Duration // TELLYOU_MAX_CLOCK_SKEW, default 60s
	RecallWindow time.Duration // TELLYOU_RECALL_WINDOW, default 2m
	EditWindow   time.Duration // TELLYOU_EDIT_WINDOW, default 15m
	LogFormat    string        // TELLYOU_LOG_FORMAT: "text" (default) or "json"
	// DebugAddr is where serve offers net/http/pprof, on a listener of its
	// own (TELLYOU_DEBUG_ADDR, --debug-addr; host:port). Empty, the default:
	// no profiling endpoint.
	DebugAddr string
	// DevLogin turns on the web client's development sign-in (TELLYOU_DEV_LOGIN:
	// 1/true or 0/false, default off): POST /v1/dev/token mints a token for
	// any user name, without a password. For trying TellYou out and for
	// browser tests only: anyone who reaches the server can then be anyone.
	DevLogin bool
	// WSCompression negotiates permessage-deflate with WebSocket clients that
	// offer it (TELLYOU_WS_COMPRESSION: 1/true or 0/false, default on).
	WSCompression bool
	// FeedTopic is the analytics feed's topic and NATS subject
	// (TELLYOU_FEED_TOPIC, e.g. tellyou.feed); empty, the default: no feed.
	// It needs the NATS bus (TELLYOU_BUS=nats://...).
	FeedTopic string

	SendRate          float64       // TELLYOU_SEND_RATE: sends per second per user, default 50
	SendBurst         int           // TELLYOU_SEND_BURST: default 100
	MaxFrameBytes     int64         // TELLYOU_MAX_FRAME_BYTES: default 65536
	SendQueueBytes    int           // TELLYOU_SEND_QUEUE_BYTES: bytes waiting per connection, default 32 MiB
	StallTimeout      time.Duration // TELLYOU_STALL_TIMEOUT: how long a socket may take no bytes, default 20s
	RedeliveryTimeout time.Duration // TELLYOU_REDELIVERY_TIMEOUT: default 10s
	MaxRedeliveries   int           // TELLYOU_MAX_REDELIVERIES: default 3
	MaxConnsPerUser   int           // TELLYOU_MAX_CONNS_PER_USER: default 16
	FrameRate         float64       // TELLYOU_FRAME_RATE: other frames per second per connection, default 100
	FrameBurst        int           // TELLYOU_FRAME_BURST: default 200
	// FastPath hands each append to delivery right after it commits
	// (TELLYOU_FAST_PATH, default on); off, pushes come from the follower
	// of the log alone, a few milliseconds later.
	FastPath bool
	// MaxInFlight, TargetLatency and MaxQueueDelay bound the commands the
	// node takes on (TELLYOU_MAX_IN_FLIGHT, default 4096;
	// TELLYOU_TARGET_LATENCY, default 250ms; TELLYOU_MAX_QUEUE_DELAY, default
	// 500ms); past them commands are refused overloaded (command.Admission).
	MaxInFlight   int
	TargetLatency time.Duration
	MaxQueueDelay time.Duration
	// FaultKillAfterCommit is the crash tests' fault point (see faults.go);
	// 0, the default, is off.
	FaultKillAfterCommit int64
	// MaxGroupMembers bounds a group's members, creator included
	// (TELLYOU_MAX_GROUP_MEMBERS, default 1000, at least 2).
	MaxGroupMembers int
	// RequestTimeout bounds the handling of one HTTP request (the event
	// feed aside) and of one WebSocket frame, database calls included
	// (TELLYOU_REQUEST_TIMEOUT, default 10s): past it the request or frame
	// is answered unavailable.
	RequestTimeout time.Duration
	// PresenceExpiry is how long a node may stay silent on the bus before
	// the others take its users offline (TELLYOU_PRESENCE_EXPIRY, default
	// 30s); nodes heartbeat every third of it.
	PresenceExpiry time.Duration

	// Sealing holds the master keys of sealed content (serve_sealing.go).
	Sealing sealingConfig
	// Offline notifications (serve_notify.go), off while NotifyURL is empty.
	// NotifyURL is where they are POSTed (TELLYOU_NOTIFY_URL), signed with
	// NotifySecret ("whsec_" and base64, TELLYOU_NOTIFY_SECRET, required
	// with the URL); NotifyTimeout bounds one request (TELLYOU_NOTIFY_TIMEOUT,
	// default 10s) and NotifyMaxAttempts the attempts before a notification
	// is dead-lettered (TELLYOU_NOTIFY_MAX_ATTEMPTS, default 8).
	NotifyURL         string
	NotifySecret      string
	NotifyTimeout     time.Duration
	NotifyMaxAttempts int
	// RetentionDays is the server's default retention in whole days for
	// sessions without their own (TELLYOU_RETENTION: 30d, or a duration of
	// whole days such as 720h; default off, 0). RetentionSweep is how often
	// the sweeper expires messages past their retention
	// (TELLYOU_RETENTION_SWEEP, default 1m).
	RetentionDays  int
	RetentionSweep time.Duration
}

// busPrefixPattern is what NATS allows in a stream name and a subject token.
var busPrefixPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

const defaultDatabaseURL = "postgres://postgres@127.0.0.1:5432/tellyou?sslmode=disable"

func configFromEnv(getenv func(string) string) (config, error) {
	c := config{
		Addr:         "127.0.0.1:8080",
		DatabaseURL:  defaultDatabaseURL,
		EventStore:   "postgres",
		Bus:          "memory",
		BusPrefix:    "tellyou",
		MaxClockSkew: 60 * time.Second,
		RecallWindow: 2 * time.Minute,
		EditWindow:   15 * time.Minute,
		LogFormat:    "text",

		WSCompression: true,

		SendRate:          50,
		SendBurst:         100,
		MaxFrameBytes:     64 << 10,
		SendQueueBytes:    ws.DefaultMaxQueueBytes,
		StallTimeout:      ws.DefaultStallTimeout,
		RedeliveryTimeout: 10 * time.Second,
		MaxRedeliveries:   3,
		MaxConnsPerUser:   16,
		FrameRate:         100,
		FrameBurst:        200,
		MaxGroupMembers:   1000,
		FastPath:          true,
		MaxInFlight:       command.DefaultMaxInFlight,
		MaxQueueDelay:     command.DefaultMaxQueueDelay,
		TargetLatency:     command.DefaultTargetLatency,
		RequestTimeout:    ws.DefaultHandleTimeout,
		PresenceExpiry:    presence.DefaultExpiry,
	}
	setString := func(name string, dst *string) {
		if v := strings.TrimSpace(getenv(name)); v != "" {
			*dst = v
		}
	}
	setString("TELLYOU_ADDR", &c.Addr)
	setString("TELLYOU_DATABASE_URL", &c.DatabaseURL)
	setString("TELLYOU_EVENTSTORE", &c.EventStore)
	setString("TELLYOU_BUS", &c.Bus)
	setString("TELLYOU_BUS_PREFIX", &c.BusPrefix)
	setString("TELLYOU_LOG_FORMAT", &c.LogFormat)
	setString("TELLYOU_DEBUG_ADDR", &c.DebugAddr)
	setString("TELLYOU_FEED_TOPIC", &c.FeedTopic)
	c.JWTSecret = getenv("TELLYOU_JWT_SECRET")
	for _, d := range []struct {
		name string
		dst  *time.Duration
	}{{"TELLYOU_MAX_CLOCK_SKEW", &c.MaxClockSkew}, {"TELLYOU_RECALL_WINDOW", &c.RecallWindow},
		{"TELLYOU_EDIT_WINDOW", &c.EditWindow}, {"TELLYOU_REDELIVERY_TIMEOUT", &c.RedeliveryTimeout},
		{"TELLYOU_STALL_TIMEOUT", &c.StallTimeout}, {"TELLYOU_MAX_QUEUE_DELAY", &c.MaxQueueDelay},
		{"TELLYOU_TARGET_LATENCY", &c.TargetLatency}, {"TELLYOU_REQUEST_TIMEOUT", &c.RequestTimeout},
		{"TELLYOU_PRESENCE_EXPIRY", &c.PresenceExpiry}} {
		if v := strings.TrimSpace(getenv(d.name)); v != "" {
			parsed, err := time.ParseDuration(v)
			if err != nil || parsed <= 0 {
				return config{}, fmt.Errorf("%s=%q: want a positive duration such as 90s", d.name, v)
			}
			*d.dst = parsed
		}
	}
	for name, dst := range map[string]*bool{"TELLYOU_DEV_LOGIN": &c.DevLogin, "TELLYOU_WS_COMPRESSION": &c.WSCompression,
		"TELLYOU_FAST_PATH": &c.FastPath} {
		if v := strings.TrimSpace(getenv(name)); v != "" {
			on, err := strconv.ParseBool(v)
			if err != nil {
				return config{}, fmt.Errorf("%s=%q: want 1 or 0 (true or false)", name, v)
			}
			*dst = on
		}
	}
	if v := strings.TrimSpace(getenv("TELLYOU_SEND_QUEUE")); v != "" {
		return config{}, fmt.Errorf("TELLYOU_SEND_QUEUE=%q: no longer read; the send queue is bounded in bytes (TELLYOU_SEND_QUEUE_BYTES) and by TELLYOU_STALL_TIMEOUT", v)
	}
	if err := positiveInts(getenv, map[string]*int{
		"TELLYOU_SEND_BURST": &c.SendBurst, "TELLYOU_SEND_QUEUE_BYTES": &c.SendQueueBytes, "TELLYOU_MAX_REDELIVERIES": &c.MaxRedeliveries,
		"TELLYOU_MAX_CONNS_PER_USER": &c.MaxConnsPerUser, "TELLYOU_FRAME_BURST": &c.FrameBurst,
		"TELLYOU_MAX_GROUP_MEMBERS": &c.MaxGroupMembers, "TELLYOU_MAX_IN_FLIGHT": &c.MaxInFlight,
	}); err != nil {
		return config{}, err
	}
	kill, err := killAfterCommit(getenv)
	if err != nil {
		return config{}, err
	}
	c.FaultKillAfterCommit = kill
	if c.MaxGroupMembers < 2 {
		return config{}, fmt.Errorf("TELLYOU_MAX_GROUP_MEMBERS=%d: a group needs room for at least 2 members", c.MaxGroupMembers)
	}
	if v := strings.TrimSpace(getenv("TELLYOU_MAX_FRAME_BYTES")); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1024 {
			return config{}, fmt.Errorf("TELLYOU_MAX_FRAME_BYTES=%q: want a whole number of bytes, at least 1024", v)
		}
		c.MaxFrameBytes = n
	}
	for name, dst := range map[string]*float64{"TELLYOU_SEND_RATE": &c.SendRate, "TELLYOU_FRAME_RATE": &c.FrameRate} {
		if v := strings.TrimSpace(getenv(name)); v != "" {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil || f <= 0 {
				return config{}, fmt.Errorf("%s=%q: want a positive number per second", name, v)
			}
			*dst = f
		}
	}
	if c.EventStore != "postgres" && !strings.HasPrefix(c.EventStore, "esdb://") {
		return config{}, fmt.Errorf("TELLYOU_EVENTSTORE=%q: want postgres or an esdb:// URL", c.EventStore)
	}
	if c.Bus != "memory" && !strings.HasPrefix(c.Bus, "nats://") {
		return config{}, fmt.Errorf("TELLYOU_BUS=%q: want memory or a nats:// URL", c.Bus)
	}
	if c.FeedTopic != "" {
		if !strings.HasPrefix(c.Bus, "nats://") {
			return config{}, fmt.Errorf("TELLYOU_FEED_TOPIC=%q: the analytics feed needs TELLYOU_BUS=nats://...", c.FeedTopic)
		}
		if err := feedbus.ValidateTopic(c.FeedTopic); err != nil {
			return config{}, fmt.Errorf("TELLYOU_FEED_TOPIC: %w", err)
		}
	}
	if !busPrefixPattern.MatchString(c.BusPrefix) {
		return config{}, fmt.Errorf("TELLYOU_BUS_PREFIX=%q: want 1-64 letters, digits, _ or -", c.BusPrefix)
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		return config{}, fmt.Errorf("TELLYOU_LOG_FORMAT=%q: want text or json", c.LogFormat)
	}
	if err := checkDebugAddr(c.DebugAddr); err != nil {
		return config{}, fmt.Errorf("TELLYOU_DEBUG_ADDR=%q: %w", c.DebugAddr, err)
	}
	if c.Sealing, err = parseSealingConfig(getenv); err != nil {
		return config{}, err
	}

	setString("TELLYOU_NOTIFY_URL", &c.NotifyURL)
	c.NotifySecret = strings.TrimSpace(getenv("TELLYOU_NOTIFY_SECRET"))
	c.NotifyTimeout, c.NotifyMaxAttempts = notify.DefaultTimeout, notify.DefaultMaxAttempts
	if v := strings.TrimSpace(getenv("TELLYOU_NOTIFY_TIMEOUT")); v != "" {
		if c.NotifyTimeout, err = time.ParseDuration(v); err != nil || c.NotifyTimeout <= 0 {
			return config{}, fmt.Errorf("TELLYOU_NOTIFY_TIMEOUT=%q: want a positive duration such as 10s", v)
		}
	}
	if err := positiveInts(getenv, map[string]*int{"TELLYOU_NOTIFY_MAX_ATTEMPTS": &c.NotifyMaxAttempts}); err != nil {
		return config{}, err
	}
	if c.NotifyURL != "" {
		check := notify.Config{Outbox: &notify.Outbox{}, URL: c.NotifyURL, Secret: c.NotifySecret}
		if err := check.Validate(); err != nil {
			return config{}, fmt.Errorf("offline notifications (TELLYOU_NOTIFY_URL): %w", err)
		}
	}

	if c.RetentionDays, err = retention.ParseDays(getenv("TELLYOU_RETENTION")); err != nil {
		return config{}, fmt.Errorf("TELLYOU_RETENTION: %w", err)
	}
	c.RetentionSweep = retention.DefaultInterval
	if v := strings.TrimSpace(getenv("TELLYOU_RETENTION_SWEEP")); v != "" {
		if c.RetentionSweep, err = time.ParseDuration(v); err != nil || c.RetentionSweep < time.Second {
			return config{}, fmt.Errorf("TELLYOU_RETENTION_SWEEP=%q: want a duration of at least 1s such as 1m", v)
		}
	}
	return c, nil
}

// checkDebugAddr accepts an empty address (no debug server) or a host:port.
func checkDebugAddr(addr string) error {
	if addr == "" {
		return nil
	}
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return fmt.Errorf("want host:port such as 127.0.0.1:6060: %w", err)
	}
	return nil
}

func positiveInts(getenv func(string) string, dst map[string]*int) error {
	for name, p := range dst {
		if v := strings.TrimSpace(getenv(name)); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n <= 0 {
				return fmt.Errorf("%s=%q: want a positive whole number", name, v)
			}
			*p = n
		}
	}
	return nil
}
