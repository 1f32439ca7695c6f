// Package faulttest holds only tests: it runs the tellyou binary as child
// processes (one node, or two nodes over NATS) under a steady load of
// WebSocket clients, and breaks what the nodes depend on while the clients
// send: PostgreSQL and NATS servers of the tests' own are restarted cleanly
// and crashed, a node is killed with SIGKILL, and a fault proxy (Toxiproxy,
// run in the test process from its Go module) between the nodes and
// PostgreSQL or NATS adds latency, limits bandwidth, resets connections, holds
// them silent or refuses them.
//
// The clients resend every unacked message with the same clientMessageId
// until it is acked, reconnecting (to another node when theirs is gone) and
// syncing what they missed. After each fault the tests check, against the
// event log in PostgreSQL, that no acked message was lost, none was stored
// twice and no seq is missing; that every message reached its recipient;
// that the errors clients saw are documented codes; and they log a row of
// figures (acked, lost, duplicated, time until sends and pushes resumed,
// errors seen) for docs/reliability.md.
//
// The quick variants run with `go test ./...`. The long variants (10
// restarts and crashes, longer faults) run with TELLYOU_FAULT_LONG=1, unless
// -short:
//
//	TELLYOU_FAULT_LONG=1 go test -count=1 -timeout 60m -v ./cmd/tellyou/faulttest/
package faulttest
