// Package servertest runs the real tellyou binary as child processes, for the
// end-to-end tests that crash, restart and combine servers: it builds the
// binary once per test package and starts `tellyou serve` nodes on loopback
// ports, stopping them and showing their logs when a test fails.
package servertest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Build builds cmd/tellyou into dir, with the race detector when race is set,
// and returns the binary's path.
func Build(dir string, race bool) (string, error) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		goTool = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	out := filepath.Join(dir, "tellyou")
	args := []string{"build", "-o", out}
	if race {
		args = append(args, "-race")
	}
	cmd := exec.Command(goTool, append(args, "github.com/tellyou/tellyou/cmd/tellyou")...)
	if msg, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build tellyou: %v\n%s", err, msg)
	}
	return out, nil
}

// Main is a test package's TestMain body: it builds the binary once into a
// temporary directory, stores its path in *bin, runs the tests and removes the
// directory. Use it as os.Exit(servertest.Main(m, &binary, race)).
func Main(m *testing.M, bin *string, race bool) int {
	dir, err := os.MkdirTemp("", "tellyou-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "servertest: temp dir for the binary:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	if *bin, err = Build(dir, race); err != nil {
		fmt.Fprintln(os.Stderr, "servertest:", err)
		return 1
	}
	return m.Run()
}

// FreeAddr returns a loopback address nothing listens on at the moment.
func FreeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// Node is a `tellyou serve` child process on a loopback port.
type Node struct {
	Name string
	// Base is the node's HTTP base URL, http://127.0.0.1:<port>.
	Base string
	cmd  *exec.Cmd
	logs *LogBuffer
	done chan struct{}
}

// Start runs `tellyou serve` from bin with the environment of this process
// (less any TELLYOU_ variable, so a developer's settings do not leak in) plus
// TELLYOU_ADDR (a free loopback port), TELLYOU_LOG_FORMAT=json and env,
// and waits until /readyz answers 200. The node is stopped when the test ends
// (SIGTERM; a node that does not stop within 30 s is killed and fails the
// test); its last log lines are shown when the test failed.
func Start(t testing.TB, bin, name string, env ...string) *Node {
	t.Helper()
	return StartAt(t, bin, name, FreeAddr(t), env...)
}

// StartAt is Start on a given address: a node started again where its
// clients dial the one that died.
func StartAt(t testing.TB, bin, name, addr string, env ...string) *Node {
	t.Helper()
	n := &Node{Name: name, Base: "http://" + addr, logs: &LogBuffer{}, done: make(chan struct{})}
	n.cmd = exec.Command(bin, "serve")
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "TELLYOU_") {
			n.cmd.Env = append(n.cmd.Env, kv)
		}
	}
	n.cmd.Env = append(n.cmd.Env, "TELLYOU_ADDR="+addr, "TELLYOU_LOG_FORMAT=json")
	n.cmd.Env = append(n.cmd.Env, env...)
	n.cmd.Stdout, n.cmd.Stderr = n.logs, n.logs
	if err := n.cmd.Start(); err != nil {
		t.Fatalf("start node %s: %v", name, err)
	}
	go func() {
		_ = n.cmd.Wait()
		close(n.done)
	}()
	t.Cleanup(func() {
		n.Stop(t)
		if t.Failed() {
			t.Logf("node %s log (last lines):\n%s", name, n.logs.Tail(60))
		}
	})
	deadline := time.Now().Add(60 * time.Second)
	for {
		if status, _ := n.Ready(); status == http.StatusOK {
			return n
		}
		select {
		case <-n.done:
			t.Fatalf("node %s exited before it was ready:\n%s", name, n.logs.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("node %s not ready after 60s", name)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Stop ends the node gracefully with SIGTERM; one that has not stopped after
// 30 s is killed and fails the test.
func (n *Node) Stop(t testing.TB) {
	select {
	case <-n.done:
		return
	default:
	}
	_ = n.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-n.done:
	case <-time.After(30 * time.Second):
		t.Errorf("node %s did not stop within 30s of SIGTERM; killing it", n.Name)
		_ = n.cmd.Process.Kill()
		<-n.done
	}
}

// Kill ends the node with SIGKILL, as a crash would, and waits for it.
func (n *Node) Kill() {
	_ = n.cmd.Process.Kill()
	<-n.done
}

// Addr is the node's host:port.
func (n *Node) Addr() string { return strings.TrimPrefix(n.Base, "http://") }

// Pid is the server process's id.
func (n *Node) Pid() int { return n.cmd.Process.Pid }

// Done is closed when the process has exited.
func (n *Node) Done() <-chan struct{} { return n.done }

// Logs returns what the node has logged so far.
func (n *Node) Logs() string { return n.logs.String() }

// Ready returns /readyz's status (0 when the node does not answer) and the
// reason it gives.
func (n *Node) Ready() (int, string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, n.Base+"/readyz", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	var answer struct{ Status, Reason string }
	_ = json.NewDecoder(resp.Body).Decode(&answer)
	return resp.StatusCode, answer.Reason
}

// LogBuffer collects a process's output; it is safe for concurrent use.
type LogBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *LogBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *LogBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Tail returns the last n lines.
func (s *LogBuffer) Tail(n int) string { return Tail(s.String(), n) }

// Tail returns the last n lines of text.
func Tail(text string, n int) string {
	lines := strings.Split(strings.TrimRight(text, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// WaitFor polls cond every 20 ms until it holds, or fails the test after
// timeout; it returns how long that took.
func WaitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > timeout {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return time.Since(start)
}
