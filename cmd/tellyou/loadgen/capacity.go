package loadgen

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// fdReserve is the file descriptors a process keeps beside its connections
// (listeners, the database pool, HTTP clients, pipes).
const fdReserve = 100

// capacity tells why the machine cannot hold conns connections spread over
// procs processes of the load tool, or "" when it can: each process and,
// when its pid is known, the server need a file descriptor per connection.
func capacity(conns, procs, serverPID int) string {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err == nil {
		per := (conns + procs - 1) / procs
		if uint64(per+fdReserve) > lim.Cur {
			return fmt.Sprintf("%d connections need %d per process of the load tool, over its limit of %d open files: use more --procs", conns, per, lim.Cur)
		}
	}
	if serverPID > 0 {
		room, err := fdRoom(serverPID)
		if err == nil && conns+fdReserve > room {
			return fmt.Sprintf("%d connections do not fit in the server's open-file limit: room for %d more", conns, room)
		}
	}
	return ""
}

// fdRoom is how many more files process pid may open: its soft limit less
// those open now.
func fdRoom(pid int) (int, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/limits", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	limit := -1
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "Max open files"); ok {
			fields := strings.Fields(rest)
			if len(fields) > 0 {
				limit, err = strconv.Atoi(fields[0])
				if err != nil {
					return 0, fmt.Errorf("/proc/%d/limits: open files %q", pid, fields[0])
				}
			}
		}
	}
	if limit < 0 {
		return 0, fmt.Errorf("/proc/%d/limits: no open-file limit", pid)
	}
	open, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		return 0, err
	}
	return limit - len(open), nil
}
