package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tellyou/tellyou/events"
	"github.com/tellyou/tellyou/events/pgstore"
	"github.com/tellyou/tellyou/events/pgstore/pgtest"
	"github.com/tellyou/tellyou/handlers/transport/auth"
	"github.com/tellyou/tellyou/handlers/transport/wire"
)

func env(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

func TestOperatorCommandsOnARealDatabase(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	// A database that does not exist yet: migrate creates it.
	url := strings.Replace(pgtest.NewDatabase(t), "tellyou_test_", "tellyou_test_new_", 1)
	t.Cleanup(func() { dropDatabase(t, url) })
	getenv := env(map[string]string{"TELLYOU_DATABASE_URL": url})
	var out, errOut bytes.Buffer
	if err := run(ctx, []string{"migrate"}, getenv, &out, &errOut); err != nil {
		t.Fatalf("migrate: %v (%s)", err, errOut.String())
	}
	if err := run(ctx, []string{"migrate"}, getenv, &out, &errOut); err != nil {
		t.Fatalf("second migrate: %v", err)
	}
	if err := run(ctx, []string{"token", "--user", "ann"}, getenv, &out, &errOut); err == nil || !strings.Contains(err.Error(), "no stored secret") {
		t.Fatalf("token before any secret exists = %v", err)
	}

	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	secret, err := auth.LoadOrCreateSecret(ctx, pool)
	if err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if err := run(ctx, []string{"token", "--user", "ann", "--role", "auditor", "--ttl", "1h"}, getenv, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	p, err := auth.Verify(secret, strings.TrimSpace(out.String()), time.Now())
	if err != nil || p.UserID != "ann" || !p.IsAuditor() {
		t.Fatalf("minted token = %+v, %v", p, err)
	}
	if err := run(ctx, []string{"token", "--user", "ann", "--role", "root"}, getenv, &out, &errOut); err == nil {
		t.Fatal("unknown role accepted")
	}

	store, err := pgstore.New(ctx, pool, pgstore.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	ev, err := events.Encode(events.Envelope{Meta: events.Metadata{Actor: "ann", CorrelationID: "c"}, Payload: events.SessionCreated{SessionID: "d:ann:bob", Kind: events.KindDirect, Members: []string{"ann", "bob"}}})
	if err != nil {
		t.Fatal(err)
	}
	sent, err := events.Encode(events.Envelope{Meta: events.Metadata{Actor: "ann", CorrelationID: "c"}, Payload: events.MessageSent{
		SessionID: "d:ann:bob", MessageID: "0b8d6f0e-5d1c-4c1e-9f62-3c5d0c2a8e11", Seq: 1, SenderID: "ann", MessageType: 1, Content: "helo"}})
	if err != nil {
		t.Fatal(err)
	}
	edited, err := events.Encode(events.Envelope{Meta: events.Metadata{Actor: "ann", CorrelationID: "c"}, Payload: events.MessageEdited{
		SessionID: "d:ann:bob", MessageID: "0b8d6f0e-5d1c-4c1e-9f62-3c5d0c2a8e11", Seq: 1, By: "ann", Content: "hello", EditedAt: 1}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.Append(ctx, "d:ann:bob", events.NoStream, []events.EventData{ev, sent, edited}); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if err := run(ctx, []string{"audit", "--session", "d:ann:bob"}, getenv, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	var printed []wire.AuditEvent
	for dec := json.NewDecoder(&out); dec.More(); {
		var e wire.AuditEvent
		if err := dec.Decode(&e); err != nil {
			t.Fatalf("audit output: %v", err)
		}
		printed = append(printed, e)
	}
	if len(printed) != 3 || printed[0].StreamID != "d:ann:bob" || printed[0].Version != 1 || printed[0].Type != "SessionCreated" ||
		!bytes.Contains(printed[0].Metadata, []byte(`"actor":"ann"`)) {
		t.Fatalf("audit printed %+v", printed)
	}
	// Every version of an edited message is there.
	if !bytes.Contains(printed[1].Data, []byte(`"content":"helo"`)) || printed[2].Type != "MessageEdited" ||
		!bytes.Contains(printed[2].Data, []byte(`"content":"hello"`)) {
		t.Fatalf("audit printed %s %s, %s %s; want the send and its edit", printed[1].Type, printed[1].Data, printed[2].Type, printed[2].Data)
	}
	out.Reset()
	if err := run(ctx, []string{"rebuild", "--projection", "sessions"}, getenv, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "rebuilt sessions") {
		t.Fatalf("rebuild printed %q", out.String())
	}
	if err := run(ctx, []string{"rebuild", "--projection", "nope"}, getenv, &out, &errOut); err == nil {
		t.Fatal("unknown projection accepted")
	}
}

func TestConfigFromEnvRefusesBadValues(t *testing.T) {
	t.Parallel()
	for name, vars := range map[string]map[string]string{
		"bad skew":        {"TELLYOU_MAX_CLOCK_SKEW": "soon"},
		"negative recall": {"TELLYOU_RECALL_WINDOW": "-1s"},
		"zero edit":       {"TELLYOU_EDIT_WINDOW": "0s"},
		"bad edit":        {"TELLYOU_EDIT_WINDOW": "a while"},
		"bad store":       {"TELLYOU_EVENTSTORE": "mysql"},
		"bad log format":  {"TELLYOU_LOG_FORMAT": "xml"},
		"zero send rate":  {"TELLYOU_SEND_RATE": "0"},
		"bad burst":       {"TELLYOU_SEND_BURST": "many"},
		"tiny frames":     {"TELLYOU_MAX_FRAME_BYTES": "10"},
		"bad redelivery":  {"TELLYOU_REDELIVERY_TIMEOUT": "0s"},
		"bad queue":       {"TELLYOU_SEND_QUEUE_BYTES": "-3"},
		"old queue":       {"TELLYOU_SEND_QUEUE": "256"},
		"bad stall":       {"TELLYOU_STALL_TIMEOUT": "0s"},
		"bad conns":       {"TELLYOU_MAX_CONNS_PER_USER": "0"},
		"bad frame rate":  {"TELLYOU_FRAME_RATE": "fast"},
		"bad bus":         {"TELLYOU_BUS": "kafka://127.0.0.1:9092"},
		"bad bus prefix":  {"TELLYOU_BUS": "nats://127.0.0.1:4222", "TELLYOU_BUS_PREFIX": "a.b"},
		"debug no port":   {"TELLYOU_DEBUG_ADDR": "127.0.0.1"},
		"debug a url":     {"TELLYOU_DEBUG_ADDR": "http://127.0.0.1:6060/"},
		"bad dev login":   {"TELLYOU_DEV_LOGIN": "maybe"},
		"bad compression": {"TELLYOU_WS_COMPRESSION": "zip"},
		"feed, no nats":   {"TELLYOU_FEED_TOPIC": "tellyou.feed"},
		"bad feed topic":  {"TELLYOU_BUS": "nats://127.0.0.1:4222", "TELLYOU_FEED_TOPIC": "tellyou feed"},
		"group of one":    {"TELLYOU_MAX_GROUP_MEMBERS": "1"},
		"no group":        {"TELLYOU_MAX_GROUP_MEMBERS": "0"},
		"bad group size":  {"TELLYOU_MAX_GROUP_MEMBERS": "lots"},
	} {
		if _, err := configFromEnv(env(vars)); err == nil {
			t.Errorf("%s: accepted %v", name, vars)
		}
	}
	c, err := configFromEnv(env(nil))
	if err != nil || c.Addr != "127.0.0.1:8080" || c.DatabaseURL != defaultDatabaseURL || c.RecallWindow != 2*time.Minute ||
		c.EditWindow != 15*time.Minute || c.Bus != "memory" || c.BusPrefix != "tellyou" || c.DebugAddr != "" || !c.WSCompression || c.FeedTopic != "" {
		t.Fatalf("defaults = %+v, %v", c, err)
	}
}

func TestConfigFromEnvReadsTheDebugAddr(t *testing.T) {
	t.Parallel()
	for _, addr := range []string{"127.0.0.1:6060", "[::1]:6060", "localhost:0"} {
		c, err := configFromEnv(env(map[string]string{"TELLYOU_DEBUG_ADDR": addr}))
		if err != nil || c.DebugAddr != addr {
			t.Errorf("TELLYOU_DEBUG_ADDR=%s: config %q, %v", addr, c.DebugAddr, err)
		}
	}
}

func TestConfigFromEnvReadsDevLogin(t *testing.T) {
	t.Parallel()
	for value, want := range map[string]bool{"": false, "1": true, "true": true, " TRUE ": true, "0": false, "false": false} {
		c, err := configFromEnv(env(map[string]string{"TELLYOU_DEV_LOGIN": value}))
		if err != nil || c.DevLogin != want {
			t.Errorf("TELLYOU_DEV_LOGIN=%q: DevLogin %v, %v; want %v", value, c.DevLogin, err, want)
		}
	}
	_, err := configFromEnv(env(map[string]string{"TELLYOU_DEV_LOGIN": "yes"}))
	if err == nil || !strings.Contains(err.Error(), "TELLYOU_DEV_LOGIN") {
		t.Errorf("TELLYOU_DEV_LOGIN=yes: %v, want an error naming the variable", err)
	}
}

func TestConfigFromEnvReadsTheGroupMemberLimit(t *testing.T) {
	t.Parallel()
	for value, want := range map[string]int{"": 1000, "2": 2, " 20000 ": 20000} {
		c, err := configFromEnv(env(map[string]string{"TELLYOU_MAX_GROUP_MEMBERS": value}))
		if err != nil || c.MaxGroupMembers != want {
			t.Errorf("TELLYOU_MAX_GROUP_MEMBERS=%q: %d, %v; want %d", value, c.MaxGroupMembers, err, want)
		}
	}
	_, err := configFromEnv(env(map[string]string{"TELLYOU_MAX_GROUP_MEMBERS": "1"}))
	if err == nil || !strings.Contains(err.Error(), "TELLYOU_MAX_GROUP_MEMBERS") {
		t.Errorf("TELLYOU_MAX_GROUP_MEMBERS=1: %v, want an error naming the variable", err)
	}
}

func TestConfigFromEnvReadsTheBus(t *testing.T) {
	t.Parallel()
	c, err := configFromEnv(env(map[string]string{"TELLYOU_BUS": "nats://10.0.0.5:4222", "TELLYOU_BUS_PREFIX": "chat-eu_1"}))
	if err != nil || c.Bus != "nats://10.0.0.5:4222" || c.BusPrefix != "chat-eu_1" {
		t.Fatalf("bus config = %q %q, %v", c.Bus, c.BusPrefix, err)
	}
}

func TestUnknownCommandIsRefused(t *testing.T) {
	t.Parallel()
	var out, errOut bytes.Buffer
	if err := run(context.Background(), []string{"dance"}, env(nil), &out, &errOut); err == nil || !strings.Contains(errOut.String(), "usage") {
		t.Fatalf("run(dance) = %v, stderr %q", err, errOut.String())
	}
}

func dropDatabase(t *testing.T, url string) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		t.Error(err)
		return
	}
	admin, err := pgxpool.New(context.Background(), pgtest.AdminURL())
	if err != nil {
		t.Error(err)
		return
	}
	defer admin.Close()
	if _, err := admin.Exec(context.Background(), `DROP DATABASE IF EXISTS "`+cfg.ConnConfig.Database+`" WITH (FORCE)`); err != nil {
		t.Error(err)
	}
}

func TestPoolSettingsInTheURLReachThePoolNotTheServer(t *testing.T) {
	t.Parallel()
	url := strings.Replace(pgtest.NewDatabase(t), "tellyou_test_", "tellyou_test_pool_", 1) + "&pool_max_conns=7"
	t.Cleanup(func() { dropDatabase(t, url) })
	var out, errOut bytes.Buffer
	if err := run(context.Background(), []string{"migrate"}, env(map[string]string{"TELLYOU_DATABASE_URL": url}), &out, &errOut); err != nil {
		t.Fatalf("migrate with pool_max_conns in the URL: %v", err)
	}
	pool, err := openDatabase(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	if got := pool.Config().MaxConns; got != 7 {
		t.Fatalf("pool MaxConns = %d, want 7 from the URL", got)
	}
}

func TestConfigFromEnvReadsCompressionAndFeed(t *testing.T) {
	t.Parallel()
	c, err := configFromEnv(env(map[string]string{"TELLYOU_WS_COMPRESSION": "0",
		"TELLYOU_BUS": "nats://127.0.0.1:4222", "TELLYOU_FEED_TOPIC": "tellyou.feed"}))
	if err != nil || c.WSCompression || c.FeedTopic != "tellyou.feed" {
		t.Fatalf("config %+v, %v; want compression off and the feed on tellyou.feed", c, err)
	}
}
