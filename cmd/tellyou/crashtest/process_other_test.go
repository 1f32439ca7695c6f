//go:build !linux

package crashtest_test

import "syscall"

// childProcAttr: outside Linux there is no parent-death signal; the tests'
// cleanups kill the server.
func childProcAttr() *syscall.SysProcAttr { return nil }
