package servertest

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// PGServer is a PostgreSQL server of the test's own: a fresh data directory
// on a free loopback port, trust authentication, fsync on. The test stops,
// crashes and starts it at will, as an operator would with pg_ctlcluster,
// without touching the machine's shared server that other tests use.
type PGServer struct {
	bin  string // the directory of initdb and pg_ctl
	dir  string // data/, the server log; owned by the OS user running the server
	port int
	// runAs is the OS user the server runs as when the test runs as root
	// (PostgreSQL refuses root), "" otherwise.
	runAs string
}

// NewPGServer initialises and starts a server, stopped and removed when the
// test ends. It skips the test when PostgreSQL's server binaries are missing.
func NewPGServer(t testing.TB) *PGServer {
	t.Helper()
	bin, err := postgresBin()
	if err != nil {
		t.Skipf("PostgreSQL server binaries not found, cannot crash a database of our own: %v", err)
	}
	s := &PGServer{bin: bin}
	if os.Geteuid() == 0 {
		s.runAs = "postgres"
	}
	s.dir, err = os.MkdirTemp("", "tellyou-outage-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(s.dir) })
	if s.runAs != "" {
		u, err := user.Lookup(s.runAs)
		if err != nil {
			t.Fatalf("running as root, PostgreSQL needs an OS user to run as: %v", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(s.dir, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
	s.exec(t, "initdb", "-D", s.data(), "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync")
	addr, err := net.ResolveTCPAddr("tcp", FreeAddr(t))
	if err != nil {
		t.Fatal(err)
	}
	s.port = addr.Port
	conf := fmt.Sprintf("\nport = %d\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '%s'\n", s.port, s.dir)
	f, err := os.OpenFile(filepath.Join(s.data(), "postgresql.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(conf); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	s.Start(t)
	t.Cleanup(func() {
		if t.Failed() {
			log, _ := os.ReadFile(s.logFile())
			t.Logf("PostgreSQL log:\n%s", Tail(string(log), 40))
		}
		_ = s.command("pg_ctl", "-D", s.data(), "-m", "immediate", "-w", "stop").Run()
	})
	return s
}

func (s *PGServer) data() string    { return filepath.Join(s.dir, "data") }
func (s *PGServer) logFile() string { return filepath.Join(s.dir, "server.log") }

// URL is the URL of database name on the server.
func (s *PGServer) URL(name string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", s.port, name)
}

// Start starts the server and waits until it accepts connections (after
// crash recovery, when it was crashed).
func (s *PGServer) Start(t testing.TB) {
	t.Helper()
	s.exec(t, "pg_ctl", "-D", s.data(), "-l", s.logFile(), "-w", "-t", "60", "start")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for {
		conn, err := pgx.Connect(ctx, s.URL("postgres"))
		if err == nil {
			_ = conn.Close(ctx)
			return
		}
		if ctx.Err() != nil {
			t.Fatalf("PostgreSQL on port %d not accepting connections: %v", s.port, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Crash stops the server the hard way (pg_ctl stop -m immediate, what
// pg_ctlcluster ... stop -m immediate runs): every backend dies at once,
// nothing is flushed but what was committed; the next start runs crash
// recovery.
func (s *PGServer) Crash(t testing.TB) {
	t.Helper()
	s.exec(t, "pg_ctl", "-D", s.data(), "-m", "immediate", "-w", "stop")
}

// Stop stops the server cleanly (pg_ctl stop -m fast, the default of
// pg_ctlcluster stop): sessions are ended, a checkpoint is written.
func (s *PGServer) Stop(t testing.TB) {
	t.Helper()
	s.exec(t, "pg_ctl", "-D", s.data(), "-m", "fast", "-w", "stop")
}

// Port is the loopback port the server listens on.
func (s *PGServer) Port() int { return s.port }

func (s *PGServer) command(tool string, args ...string) *exec.Cmd {
	path := filepath.Join(s.bin, tool)
	if s.runAs != "" {
		return exec.Command("runuser", append([]string{"-u", s.runAs, "--", path}, args...)...)
	}
	return exec.Command(path, args...)
}

func (s *PGServer) exec(t testing.TB, tool string, args ...string) {
	t.Helper()
	out, err := s.command(tool, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", tool, strings.Join(args, " "), err, out)
	}
}

// postgresBin returns the bin directory of the newest PostgreSQL installed
// the Debian way, /usr/lib/postgresql/<version>/bin, with initdb and pg_ctl.
func postgresBin() (string, error) {
	dirs, err := filepath.Glob("/usr/lib/postgresql/*/bin")
	if err != nil {
		return "", err
	}
	var found []string
	for _, d := range dirs {
		if isExecutable(filepath.Join(d, "initdb")) && isExecutable(filepath.Join(d, "pg_ctl")) {
			found = append(found, d)
		}
	}
	if len(found) == 0 {
		return "", fmt.Errorf("no initdb and pg_ctl under /usr/lib/postgresql/*/bin")
	}
	version := func(d string) int {
		v, _ := strconv.Atoi(filepath.Base(filepath.Dir(d)))
		return v
	}
	return slices.MaxFunc(found, func(a, b string) int { return version(a) - version(b) }), nil
}

func isExecutable(path string) bool {
	st, err := os.Stat(path)
	return err == nil && !st.IsDir() && st.Mode()&0o111 != 0
}
