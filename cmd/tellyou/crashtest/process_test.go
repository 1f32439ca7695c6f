package crashtest_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// serverProcess is `tellyou serve` running as a child process, started and
// stopped again and again on the same database and address. Its stderr and
// stdout, over all runs, go to logs.
type serverProcess struct {
	bin  string
	env  []string
	base string // http://host:port
	logs *tailBuffer

	mu       sync.Mutex
	cmd      *exec.Cmd
	exited   chan struct{} // closed when the current run's process has been waited for
	stopping bool          // the current run is being stopped on purpose
	runs     int
	// died is closed at the first exit nobody asked for (a crash); crash
	// says how it ended.
	died  chan struct{}
	crash string
}

// newServerProcess prepares, without starting it, a server on addr with the
// given TELLYOU_* settings; any other TELLYOU_* variable of the test's own
// environment is left out.
func newServerProcess(bin, addr string, settings map[string]string) *serverProcess {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "TELLYOU_") {
			env = append(env, kv)
		}
	}
	for k, v := range settings {
		env = append(env, k+"="+v)
	}
	return &serverProcess{bin: bin, env: env, base: "http://" + addr, logs: newTailBuffer(512 << 10), died: make(chan struct{})}
}

// start starts a new run. The previous one must have ended.
func (p *serverProcess) start() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd != nil {
		return errors.New("start: the previous run is still going")
	}
	p.runs++
	fmt.Fprintf(p.logs, "===== run %d: tellyou serve started at %s =====\n", p.runs, time.Now().Format(time.RFC3339Nano))
	cmd := exec.Command(p.bin, "serve")
	cmd.Env = p.env
	cmd.Stdout, cmd.Stderr = p.logs, p.logs
	cmd.SysProcAttr = childProcAttr()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s serve: %w", p.bin, err)
	}
	exited := make(chan struct{})
	p.cmd, p.exited, p.stopping = cmd, exited, false
	run := p.runs
	go func() {
		err := cmd.Wait()
		p.mu.Lock()
		defer p.mu.Unlock()
		fmt.Fprintf(p.logs, "===== run %d ended: %v =====\n", run, exitDescription(err))
		if !p.stopping && p.crash == "" {
			p.crash = fmt.Sprintf("run %d of tellyou serve exited on its own: %v", run, exitDescription(err))
			close(p.died)
		}
		p.cmd = nil
		close(exited)
	}()
	return nil
}

// kill ends the current run with SIGKILL and waits for the process to be gone.
func (p *serverProcess) kill() error {
	_, err := p.signal(syscall.SIGKILL, time.Minute)
	return err
}

// terminate asks the current run to shut down gracefully with SIGTERM and
// waits for it, at most grace; it returns an error unless the process exited
// with status 0 in time (it is then killed).
func (p *serverProcess) terminate(grace time.Duration) error {
	exit, err := p.signal(syscall.SIGTERM, grace)
	if err != nil {
		return err
	}
	if exit != "exit status 0" {
		return fmt.Errorf("tellyou serve ended with %s after SIGTERM, want exit status 0", exit)
	}
	return nil
}

// signal sends sig to the current run and waits for its exit, killing it
// after wait.
func (p *serverProcess) signal(sig syscall.Signal, wait time.Duration) (string, error) {
	p.mu.Lock()
	cmd, exited := p.cmd, p.exited
	if cmd == nil {
		p.mu.Unlock()
		return "", fmt.Errorf("%v: tellyou serve is not running", sig)
	}
	p.stopping = true
	fmt.Fprintf(p.logs, "===== run %d: %v at %s =====\n", p.runs, sig, time.Now().Format(time.RFC3339Nano))
	err := cmd.Process.Signal(sig)
	p.mu.Unlock()
	if err != nil {
		return "", fmt.Errorf("send %v to tellyou serve: %w", sig, err)
	}
	select {
	case <-exited:
	case <-time.After(wait):
		_ = cmd.Process.Kill()
		<-exited
		return "", fmt.Errorf("tellyou serve did not exit within %v of %v", wait, sig)
	}
	return exitDescription(cmd.ProcessState), nil
}

// stop kills the current run, if any; for cleanups.
func (p *serverProcess) stop() {
	p.mu.Lock()
	running := p.cmd != nil
	p.mu.Unlock()
	if running {
		_ = p.kill()
	}
}

// crashed reports how the server ended when it exited on its own.
func (p *serverProcess) crashed() (string, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.crash, p.crash != ""
}

// waitReady polls /readyz until it answers 200. It gives up when ctx ends or
// the server exits on its own.
func (p *serverProcess) waitReady(ctx context.Context) error {
	client := &http.Client{Timeout: 5 * time.Second}
	var last string
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.base+"/readyz", nil)
		if err != nil {
			return err
		}
		resp, err := client.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			last = resp.Status
		} else {
			last = err.Error()
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s/readyz not ready (last answer: %s): %w", p.base, last, ctx.Err())
		case <-p.died:
			crash, _ := p.crashed()
			return errors.New(crash)
		case <-time.After(25 * time.Millisecond):
		}
	}
}

// exitDescription says how a process ended ("exit status 0", "signal: killed").
func exitDescription(v any) string {
	switch s := v.(type) {
	case nil:
		return "exit status 0"
	case *os.ProcessState:
		if s == nil {
			return "not ended"
		}
		if s.Success() {
			return "exit status 0"
		}
		return s.String()
	case error:
		var exit *exec.ExitError
		if errors.As(s, &exit) {
			return exit.ProcessState.String()
		}
		return s.Error()
	}
	return fmt.Sprint(v)
}

// tailBuffer keeps the last max bytes written to it; safe for concurrent use.
type tailBuffer struct {
	mu   sync.Mutex
	max  int
	buf  []byte
	lost int
}

func newTailBuffer(max int) *tailBuffer { return &tailBuffer{max: max} }

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	if over := len(b.buf) - b.max; over > b.max/4 {
		b.lost += over
		b.buf = append(b.buf[:0], b.buf[over:]...)
	}
	return len(p), nil
}

// String returns what is kept, saying how much was dropped before it.
func (b *tailBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.lost > 0 {
		return fmt.Sprintf("[... %d earlier bytes dropped ...]\n%s", b.lost, b.buf)
	}
	return string(b.buf)
}
