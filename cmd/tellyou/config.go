package main

import (
	"fmt"
	"strings"
	"time"
)

// config is the server's configuration, read from TELLYOU_* environment
// variables.
type config struct {
	Addr         string        // TELLYOU_ADDR, default 127.0.0.1:8080
	DatabaseURL  string        // TELLYOU_DATABASE_URL
	EventStore   string        // TELLYOU_EVENTSTORE: "postgres" (default) or esdb://...
	Bus          string        // TELLYOU_BUS: "memory" (default) or nats://...
	JWTSecret    string        // TELLYOU_JWT_SECRET; empty: generated and kept in the database
	MaxClockSkew time.Duration // TELLYOU_MAX_CLOCK_SKEW, default 60s
	RecallWindow time.Duration // TELLYOU_RECALL_WINDOW, default 2m
	LogFormat    string        // TELLYOU_LOG_FORMAT: "text" (default) or "json"
}

const defaultDatabaseURL = "postgres://postgres@127.0.0.1:5432/tellyou?sslmode=disable"

func configFromEnv(getenv func(string) string) (config, error) {
	c := config{
		Addr:         "127.0.0.1:8080",
		DatabaseURL:  defaultDatabaseURL,
		EventStore:   "postgres",
		Bus:          "memory",
		MaxClockSkew: 60 * time.Second,
		RecallWindow: 2 * time.Minute,
		LogFormat:    "text",
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
	setString("TELLYOU_LOG_FORMAT", &c.LogFormat)
	c.JWTSecret = getenv("TELLYOU_JWT_SECRET")
	for _, d := range []struct {
		name string
		dst  *time.Duration
	}{{"TELLYOU_MAX_CLOCK_SKEW", &c.MaxClockSkew}, {"TELLYOU_RECALL_WINDOW", &c.RecallWindow}} {
		if v := strings.TrimSpace(getenv(d.name)); v != "" {
			parsed, err := time.ParseDuration(v)
			if err != nil || parsed <= 0 {
				return config{}, fmt.Errorf("%s=%q: want a positive duration such as 90s", d.name, v)
			}
			*d.dst = parsed
		}
	}
	if c.EventStore != "postgres" && !strings.HasPrefix(c.EventStore, "esdb://") {
		return config{}, fmt.Errorf("TELLYOU_EVENTSTORE=%q: want postgres or an esdb:// URL", c.EventStore)
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		return config{}, fmt.Errorf("TELLYOU_LOG_FORMAT=%q: want text or json", c.LogFormat)
	}
	return c, nil
}
