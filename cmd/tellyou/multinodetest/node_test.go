package multinodetest_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
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

	"github.com/tellyou/tellyou/handlers/auth"
)

// binary is the tellyou binary the tests run, built once by TestMain.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "tellyou-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		goTool = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	binary = filepath.Join(dir, "tellyou")
	args := []string{"build", "-o", binary}
	if raceEnabled {
		args = append(args, "-race")
	}
	if out, err := exec.Command(goTool, append(args, "github.com/tellyou/tellyou/cmd/tellyou")...).CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build tellyou: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// testSecret signs the tokens of every node the tests start.
const testSecret = "multinode-test-secret-0123456789abcdef"

// node is a `tellyou serve` child process on a loopback port.
type node struct {
	name string
	base string
	cmd  *exec.Cmd
	logs *syncBuffer
	done chan struct{}
}

// startNode runs `tellyou serve` with env and waits until /readyz answers
// 200. The node is stopped when the test ends; its log is shown when the
// test failed.
func startNode(t *testing.T, name string, env ...string) *node {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	n := &node{name: name, base: "http://" + addr, logs: &syncBuffer{}, done: make(chan struct{})}
	n.cmd = exec.Command(binary, "serve")
	n.cmd.Env = append(os.Environ(), "TELLYOU_ADDR="+addr, "TELLYOU_JWT_SECRET="+testSecret, "TELLYOU_LOG_FORMAT=json")
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
		n.stop()
		if t.Failed() {
			t.Logf("node %s log (last lines):\n%s", name, tail(n.logs.String(), 40))
		}
	})
	deadline := time.Now().Add(60 * time.Second)
	for n.readyStatus() != http.StatusOK {
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
	return n
}

// stop ends the node with SIGTERM, or kills it after 30 s.
func (n *node) stop() {
	select {
	case <-n.done:
		return
	default:
	}
	_ = n.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-n.done:
	case <-time.After(30 * time.Second):
		_ = n.cmd.Process.Kill()
		<-n.done
	}
}

// kill ends the node with SIGKILL, as a crash would.
func (n *node) kill() {
	_ = n.cmd.Process.Kill()
	<-n.done
}

func (n *node) readyStatus() int {
	resp, err := http.Get(n.base + "/readyz")
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// call makes an HTTP request as user (with roles) and decodes the JSON answer
// into out.
func (n *node) call(t *testing.T, method, user, path string, body, out any, roles ...string) {
	t.Helper()
	var in io.Reader
	if body != nil {
		data, _ := json.Marshal(body)
		in = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, n.base+path, in)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token(t, user, roles...))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		data, _ := io.ReadAll(resp.Body)
		t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, data)
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		t.Fatalf("%s %s: decode: %v", method, path, err)
	}
}

func token(t *testing.T, user string, roles ...string) string {
	t.Helper()
	tok, err := auth.Mint([]byte(testSecret), auth.Principal{UserID: user, Roles: roles}, time.Now(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// syncBuffer is an io.Writer safe for concurrent use.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// waitFor polls cond every 20 ms until it holds, or fails the test after
// timeout; it returns how long that took.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) time.Duration {
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

// natsReachable tells whether the machine's NATS server answers.
func natsReachable() bool {
	c, err := net.DialTimeout("tcp", "127.0.0.1:4222", 2*time.Second)
	if err != nil {
		return false
	}
	c.Close()
	return true
}
