package servertest

import (
	"fmt"
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

// NATSServer is a NATS server with JetStream of the test's own, on a free
// loopback port with its storage in a temporary directory. The test stops,
// kills and starts it at will; it comes back on the same port with the same
// JetStream storage, as a restarted server does.
type NATSServer struct {
	port int
	dir  string
	logs *LogBuffer

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
}

// NewNATSServer starts a server, killed and removed when the test ends. It
// skips the test when the nats-server binary is missing.
func NewNATSServer(t testing.TB) *NATSServer {
	t.Helper()
	if _, err := os.Stat(natsServerBin); err != nil {
		t.Skipf("nats-server not found, cannot restart a NATS server of our own: %v", err)
	}
	addr, err := net.ResolveTCPAddr("tcp", FreeAddr(t))
	if err != nil {
		t.Fatal(err)
	}
	s := &NATSServer{port: addr.Port, dir: t.TempDir(), logs: &LogBuffer{}}
	s.Start(t)
	t.Cleanup(func() {
		s.Kill(t)
		if t.Failed() {
			t.Logf("nats-server log (last lines):\n%s", s.logs.Tail(30))
		}
	})
	return s
}

// URL is the nats:// URL of the server.
func (s *NATSServer) URL() string { return "nats://" + s.Addr() }

// Addr is the server's host:port.
func (s *NATSServer) Addr() string { return "127.0.0.1:" + strconv.Itoa(s.port) }

// Start starts the server and waits until it accepts connections.
func (s *NATSServer) Start(t testing.TB) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		t.Fatal("start nats-server: it is running")
	}
	cmd := exec.Command(natsServerBin, "-a", "127.0.0.1", "-p", strconv.Itoa(s.port), "-js",
		"-sd", filepath.Join(s.dir, "jetstream"))
	cmd.Stdout, cmd.Stderr = s.logs, s.logs
	if err := cmd.Start(); err != nil {
		t.Fatalf("start nats-server: %v", err)
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(done)
	}()
	s.cmd, s.done = cmd, done
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", s.Addr(), time.Second)
		if err == nil {
			c.Close()
			return
		}
		select {
		case <-done:
			t.Fatalf("nats-server exited at start:\n%s", s.logs.Tail(30))
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("nats-server on %s not accepting connections after 30s: %v", s.Addr(), err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Stop shuts the server down cleanly (SIGTERM) and waits for it.
func (s *NATSServer) Stop(t testing.TB) {
	t.Helper()
	if err := s.end(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
}

// Kill ends the server with SIGKILL, as a crash would, and waits for it.
func (s *NATSServer) Kill(t testing.TB) {
	t.Helper()
	if err := s.end(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
}

// Freeze stops the server's process (SIGSTOP): its connections stay open
// and nothing answers on them, as with a hung server, until Thaw.
func (s *NATSServer) Freeze(t testing.TB) {
	t.Helper()
	s.signal(t, syscall.SIGSTOP)
}

// Thaw lets a frozen server run again (SIGCONT).
func (s *NATSServer) Thaw(t testing.TB) {
	t.Helper()
	s.signal(t, syscall.SIGCONT)
}

func (s *NATSServer) signal(t testing.TB, sig syscall.Signal) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		t.Fatalf("%v to nats-server: it is not running", sig)
	}
	if err := s.cmd.Process.Signal(sig); err != nil {
		t.Fatalf("%v to nats-server: %v", sig, err)
	}
}

func (s *NATSServer) end(sig syscall.Signal) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return nil
	}
	_ = s.cmd.Process.Signal(syscall.SIGCONT) // a frozen server ends only once thawed
	_ = s.cmd.Process.Signal(sig)
	select {
	case <-s.done:
	case <-time.After(30 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
		return fmt.Errorf("nats-server did not exit within 30s of %v", sig)
	}
	s.cmd = nil
	return nil
}
