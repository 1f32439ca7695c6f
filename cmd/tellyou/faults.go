package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"

	"github.com/tellyou/tellyou/events"
)

// faultKillAfterCommit is the fault point of the crash tests: with
// TELLYOU_FAULT_KILL_AFTER_COMMIT=n, the process kills itself with SIGKILL
// right after the n-th append carrying a message has committed, before the
// fast path has handed it to any connection or to the bus: the moment a node
// can die that only the followers of the log can make up for. Unset (the
// default), it costs nothing.
const faultKillAfterCommit = "TELLYOU_FAULT_KILL_AFTER_COMMIT"

// killAfterCommit parses the fault point's setting: 0 when it is unset.
func killAfterCommit(getenv func(string) string) (int64, error) {
	v := strings.TrimSpace(getenv(faultKillAfterCommit))
	if v == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 1 {
		return 0, fmt.Errorf("%s=%q: want a whole number of appends, at least 1", faultKillAfterCommit, v)
	}
	return n, nil
}

// withKillAfterCommit wraps a fast path with the fault point: it passes every
// append on, but kills the process instead at the n-th that carries a
// message. n = 0 returns next as it is.
func withKillAfterCommit(n int64, next func(events.Committed)) func(events.Committed) {
	if n <= 0 {
		return next
	}
	var messages atomic.Int64
	return func(c events.Committed) {
		for _, e := range c.Events {
			if e.Type == events.TypeMessageSent {
				if messages.Add(1) == n {
					_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
					select {} // the signal ends the process
				}
				break
			}
		}
		next(c)
	}
}
