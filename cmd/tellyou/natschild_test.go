package main

import (
	"bytes"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"
)

// natsServerBin is where Debian's nats-server package puts the server.
const natsServerBin = "/usr/sbin/nats-server"

// natsChild is a test's own NATS server with JetStream, run as a child
// process on a free loopback port, with its storage in a temporary
// directory. The test kills it and starts it again on the same port.
type natsChild struct {
	port int
	dir  string

	logs lockedBuffer

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
}

// newNATSChild starts a server, killed when the test ends. It skips the
// test when the nats-server binary is missing.
func newNATSChild(t *testing.T) *natsChild {
	t.Helper()
	if _, err := os.Stat(natsServerBin); err != nil {
		t.Skipf("no nats-server to start and kill: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	s := &natsChild{port: port, dir: t.TempDir()}
	s.start(t)
	t.Cleanup(func() {
		s.kill(t)
		if t.Failed() {
			t.Logf("nats-server output:\n%s", s.logs.String())
		}
	})
	return s
}

// url is the server's nats:// URL.
func (s *natsChild) url() string { return "nats://" + s.addr() }

func (s *natsChild) addr() string { return "127.0.0.1:" + strconv.Itoa(s.port) }

// start runs the server and waits until it accepts connections.
func (s *natsChild) start(t *testing.T) {
	t.Helper()
	s.mu.Lock()
	cmd := exec.Command(natsServerBin, "-a", "127.0.0.1", "-p", strconv.Itoa(s.port), "-js", "-sd", filepath.Join(s.dir, "js"))
	cmd.Stdout, cmd.Stderr = &s.logs, &s.logs
	if err := cmd.Start(); err != nil {
		s.mu.Unlock()
		t.Fatalf("start nats-server: %v", err)
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(done)
	}()
	s.cmd, s.done = cmd, done
	s.mu.Unlock()
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", s.addr(), time.Second)
		if err == nil {
			c.Close()
			return
		}
		select {
		case <-done:
			t.Fatal("nats-server exited at start")
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("nats-server not accepting connections on %s after 30s: %v", s.addr(), err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// kill ends the server with SIGKILL, as a crash does, and waits for it.
func (s *natsChild) kill(t *testing.T) {
	t.Helper()
	s.mu.Lock()
	cmd, done := s.cmd, s.done
	s.cmd = nil
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Errorf("kill nats-server: %v", err)
	}
	<-done
}

// freeze stops the server (SIGSTOP): its connections stay open and nothing
// answers on them, until thaw (SIGCONT).
func (s *natsChild) freeze(t *testing.T) { s.signal(t, syscall.SIGSTOP) }

// thaw lets a frozen server run again.
func (s *natsChild) thaw(t *testing.T) { s.signal(t, syscall.SIGCONT) }

func (s *natsChild) signal(t *testing.T, sig syscall.Signal) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		t.Fatalf("signal %v: nats-server is not running", sig)
	}
	if err := s.cmd.Process.Signal(sig); err != nil {
		t.Fatalf("signal %v to nats-server: %v", sig, err)
	}
}

// lockedBuffer is a buffer safe for concurrent use.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}
