package loadgen

import (
	"bufio"
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
)

// serverSample is the server's CPU seconds and resident memory at a moment.
type serverSample struct {
	cpu float64
	rss int64
}

// clockTicks is USER_HZ, the unit of /proc/<pid>/stat times: 100 on every
// Linux architecture Go supports.
const clockTicks = 100

// sampleServer reads the server's usage from /proc/<pid> when pid is set,
// else from its /metrics (the Prometheus process collector).
func sampleServer(ctx context.Context, client *http.Client, addr string, pid int) (serverSample, string, error) {
	if pid > 0 {
		s, err := sampleProc(pid)
		return s, fmt.Sprintf("/proc/%d", pid), err
	}
	s, err := sampleMetrics(ctx, client, addr)
	return s, "/metrics", err
}

func sampleProc(pid int) (serverSample, error) {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return serverSample{}, err
	}
	// The command name (field 2) may hold spaces; fields after it are plain.
	end := strings.LastIndexByte(string(stat), ')')
	if end < 0 {
		return serverSample{}, fmt.Errorf("/proc/%d/stat: no command name", pid)
	}
	fields := strings.Fields(string(stat[end+1:]))
	if len(fields) < 13 {
		return serverSample{}, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(fields))
	}
	// fields[0] is field 3 (state); utime and stime are fields 14 and 15.
	utime, err1 := strconv.ParseInt(fields[11], 10, 64)
	stime, err2 := strconv.ParseInt(fields[12], 10, 64)
	if err1 != nil || err2 != nil {
		return serverSample{}, fmt.Errorf("/proc/%d/stat: utime %q stime %q", pid, fields[11], fields[12])
	}
	status, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return serverSample{}, err
	}
	defer status.Close()
	s := serverSample{cpu: float64(utime+stime) / clockTicks}
	sc := bufio.NewScanner(status)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				return serverSample{}, fmt.Errorf("/proc/%d/status VmRSS %q: %w", pid, rest, err)
			}
			s.rss = kb << 10
			return s, nil
		}
	}
	return serverSample{}, fmt.Errorf("/proc/%d/status: no VmRSS", pid)
}

func sampleMetrics(ctx context.Context, client *http.Client, addr string) (serverSample, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/metrics", nil)
	if err != nil {
		return serverSample{}, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return serverSample{}, fmt.Errorf("read /metrics: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return serverSample{}, fmt.Errorf("read /metrics: %s", resp.Status)
	}
	var s serverSample
	found := 0
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), " ")
		if !ok {
			continue
		}
		switch name {
		case "process_cpu_seconds_total":
			s.cpu, err = strconv.ParseFloat(value, 64)
			found++
		case "process_resident_memory_bytes":
			var f float64
			f, err = strconv.ParseFloat(value, 64)
			s.rss = int64(f)
			found++
		}
		if err != nil {
			return serverSample{}, fmt.Errorf("/metrics %s %q: %w", name, value, err)
		}
	}
	if err := sc.Err(); err != nil {
		return serverSample{}, fmt.Errorf("read /metrics: %w", err)
	}
	if found < 2 {
		return serverSample{}, fmt.Errorf("/metrics has no process_cpu_seconds_total or process_resident_memory_bytes")
	}
	return s, nil
}

// serverState is what a run reads of the server at a moment: its process's
// usage and, with a debug address, its Go runtime.
type serverState struct {
	at      time.Time
	usage   serverSample
	source  string
	err     error
	runtime runtimeSample
	rtErr   error // also set when there is no debug address
}

// sample reads the server's state now. The runtime reading forces a
// garbage collection on the server: a step's first reading takes it before
// the usage, its last one after, so that the collection falls outside the
// CPU time measured.
func (c *coordinator) sample(ctx context.Context, first bool) serverState {
	var s serverState
	readUsage := func() {
		s.at = time.Now()
		s.usage, s.source, s.err = sampleServer(ctx, c.client, c.cfg.Addr, c.cfg.ServerPID)
	}
	readRuntime := func() {
		if c.cfg.DebugAddr == "" {
			s.rtErr = errNoDebugAddr
			return
		}
		s.runtime, s.rtErr = sampleRuntime(ctx, c.client, c.cfg.DebugAddr)
	}
	if first {
		readRuntime()
		readUsage()
	} else {
		readUsage()
		readRuntime()
	}
	return s
}

var errNoDebugAddr = errors.New("no debug address")

// usage is the server's usage between two samples, shared among conns
// connections.
func usage(before, after serverState, conns int) ServerUsage {
	if err := cmp.Or(before.err, after.err); err != nil {
		return ServerUsage{Error: err.Error()}
	}
	wall := after.at.Sub(before.at)
	u := ServerUsage{Source: before.source, CPUBefore: before.usage.cpu, CPUAfter: after.usage.cpu,
		CPUSeconds: after.usage.cpu - before.usage.cpu, RSSBefore: before.usage.rss, RSSAfter: after.usage.rss}
	if wall > 0 {
		u.CPUCores = u.CPUSeconds / wall.Seconds()
	}
	if conns > 0 {
		u.RSSPerConn = float64(after.usage.rss-before.usage.rss) / float64(conns)
	}
	switch err := cmp.Or(before.rtErr, after.rtErr); {
	case errors.Is(err, errNoDebugAddr):
	case err != nil:
		u.Runtime = &RuntimeUsage{Error: err.Error()}
	default:
		r := &RuntimeUsage{HeapBefore: before.runtime.heap, HeapAfter: after.runtime.heap, StackBefore: before.runtime.stack,
			StackAfter: after.runtime.stack, GoroutinesBefore: before.runtime.goroutines, GoroutinesAfter: after.runtime.goroutines}
		if conns > 0 {
			n := float64(conns)
			r.HeapPerConn = float64(r.HeapAfter-r.HeapBefore) / n
			r.StackPerConn = float64(r.StackAfter-r.StackBefore) / n
			r.GoroutinesPerConn = float64(r.GoroutinesAfter-r.GoroutinesBefore) / n
		}
		u.Runtime = r
	}
	return u
}
