// Package crashtest holds only tests: it builds the real tellyou binary, runs
// `tellyou serve` as a child process on a fresh database, drives many
// WebSocket clients against it and kills the server at random moments
// (SIGKILL) or stops it gracefully (SIGTERM), restarting it on the same
// database and port. The clients resend every unacked message with the same
// clientMessageId until it is acked. At the end the tests check that nothing
// acked was lost or duplicated: against the log in tellyou_events, the audit
// endpoint and `tellyou audit`, the history pulled over HTTP by every member,
// the session lists, and a rebuild of the read models from the log.
//
// The quick mode runs with `go test ./...` (-short included). The long mode
// runs with TELLYOU_CRASH_LONG=1, unless -short:
//
//	TELLYOU_CRASH_LONG=1 go test -count=1 -timeout 60m -v ./cmd/tellyou/crashtest/
//
// Each test logs its random seed; TELLYOU_CRASH_SEED=<seed> replays the same
// plan of messages and stop points (the timing of a real run still varies).
package crashtest
