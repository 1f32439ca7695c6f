package crashtest_test

import "syscall"

// childProcAttr makes the kernel kill the server when the test process dies,
// so that an interrupted test leaves no server behind.
func childProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
