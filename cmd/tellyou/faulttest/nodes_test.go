package faulttest_test

import (
	"net/http"
	"sort"
	"testing"
	"time"

	"github.com/tellyou/tellyou/cmd/tellyou/servertest"
)

// The load of every test: 200 users sending 500 messages per second in all.
const (
	loadUsers = 200
	loadRate  = 500
	loadText  = "200 users, 500 msg/s"
)

// startNode runs `tellyou serve` on databaseURL with extra settings and waits
// until it is ready; it is stopped when the test ends.
func startNode(t *testing.T, name, databaseURL string, extra ...string) *servertest.Node {
	t.Helper()
	return servertest.Start(t, binary, name, nodeEnv(databaseURL, extra)...)
}

// startNodeOn is startNode on a given address.
func startNodeOn(t *testing.T, name, addr, databaseURL string, extra ...string) *servertest.Node {
	t.Helper()
	return servertest.StartAt(t, binary, name, addr, nodeEnv(databaseURL, extra)...)
}

// nodeEnv is the settings of every node of these tests, then extra.
func nodeEnv(databaseURL string, extra []string) []string {
	return append([]string{
		"TELLYOU_DATABASE_URL=" + databaseURL,
		"TELLYOU_JWT_SECRET=" + testSecret,
		// Far above what the clients send: the rate limit is not under test.
		"TELLYOU_SEND_RATE=1000000", "TELLYOU_SEND_BURST=1000000",
	}, extra...)
}

// waitReady waits until the node answers /readyz with 200 and returns how
// long that took.
func waitReady(t *testing.T, n *servertest.Node, limit time.Duration) time.Duration {
	t.Helper()
	return servertest.WaitFor(t, limit, "node "+n.Name+" ready", func() bool {
		status, _ := n.Ready()
		return status == http.StatusOK
	})
}

// spread summarises durations: min, median, max.
func spread(ds []time.Duration) string {
	if len(ds) == 0 {
		return "-"
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	if len(s) == 1 {
		return dur(s[0])
	}
	return "min " + dur(s[0]) + ", median " + dur(s[len(s)/2]) + ", max " + dur(s[len(s)-1])
}
