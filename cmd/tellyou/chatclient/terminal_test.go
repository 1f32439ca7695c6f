package chatclient_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tellyou/tellyou/cmd/tellyou/chatclient"
	"github.com/tellyou/tellyou/cmd/tellyou/servertest"
	"github.com/tellyou/tellyou/events/pgstore/pgtest"
	"github.com/tellyou/tellyou/handlers/transport/auth"
)

const testSecret = "chat-client-test-secret-0123456789"

// waitTimeout bounds every wait for a line on a terminal.
const waitTimeout = 30 * time.Second

// startServer runs `tellyou serve` on databaseURL (a fresh database when
// empty) until the test ends.
func startServer(t *testing.T, databaseURL string) *servertest.Node {
	t.Helper()
	if databaseURL == "" {
		databaseURL = smallPool(pgtest.NewDatabase(t))
	}
	return servertest.Start(t, binary, "server", "TELLYOU_DATABASE_URL="+databaseURL, "TELLYOU_JWT_SECRET="+testSecret)
}

// smallPool keeps a test server's pool small: the machine's PostgreSQL is shared.
func smallPool(url string) string {
	if strings.Contains(url, "?") {
		return url + "&pool_max_conns=4"
	}
	return url + "?pool_max_conns=4"
}

func tokenFor(t *testing.T, user string) string {
	t.Helper()
	tok, err := auth.Mint([]byte(testSecret), auth.Principal{UserID: user, Device: "test"}, time.Now(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// terminal is a chat client driven like a terminal: lines typed into a
// pipe, the screen collected.
type terminal struct {
	t      *testing.T
	user   string
	keys   *io.PipeWriter
	screen *screen
	done   chan error
}

// screen is what a client wrote; safe for concurrent use.
type screen struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *screen) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *screen) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// openTerminal starts a client for user against the server at base, and
// waits until it is connected.
func openTerminal(t *testing.T, base, user string) *terminal {
	t.Helper()
	term := startTerminal(t, user, chatclient.Config{ServerURL: base, Token: tokenFor(t, user)})
	term.waitFor("connected to ")
	return term
}

// startTerminal starts a client with cfg (In and Out set here), ended when
// the test ends.
func startTerminal(t *testing.T, name string, cfg chatclient.Config) *terminal {
	t.Helper()
	keysIn, keys := io.Pipe()
	term := &terminal{t: t, user: name, keys: keys, screen: &screen{}, done: make(chan error, 1)}
	cfg.In, cfg.Out = keysIn, term.screen
	if cfg.ReconnectMin == 0 {
		cfg.ReconnectMin, cfg.ReconnectMax = 100*time.Millisecond, time.Second
	}
	client, err := chatclient.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	go func() { term.done <- client.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		_ = keys.Close()
		select {
		case <-term.done:
		case <-time.After(30 * time.Second):
			t.Error("client did not stop within 30s")
		}
		if t.Failed() {
			t.Logf("screen of %s:\n%s", name, term.screen.String())
		}
	})
	return term
}

// typeLine types a line and return.
func (term *terminal) typeLine(line string) {
	term.t.Helper()
	if _, err := io.WriteString(term.keys, line+"\n"); err != nil {
		term.t.Fatalf("type %q: %v", line, err)
	}
}

// waitFor waits until the screen shows text, and returns the screen.
func (term *terminal) waitFor(text string) string {
	term.t.Helper()
	var s string
	servertest.WaitFor(term.t, waitTimeout, fmt.Sprintf("%q on the screen:\n%s", text, lazy{term.screen}), func() bool {
		s = term.screen.String()
		return strings.Contains(s, text)
	})
	return s
}

// waitSince waits until the screen past mark shows text.
func (term *terminal) waitSince(mark int, text string) {
	term.t.Helper()
	servertest.WaitFor(term.t, waitTimeout, fmt.Sprintf("%q on the screen:\n%s", text, lazy{term.screen}), func() bool {
		return strings.Contains(term.since(mark), text)
	})
}

// lazy prints a screen as it is when the message is formatted.
type lazy struct{ s *screen }

func (l lazy) String() string { return l.s.String() }

// count returns how many lines of the screen are exactly line.
func (term *terminal) count(line string) int {
	n := 0
	for _, l := range strings.Split(term.screen.String(), "\n") {
		if l == line {
			n++
		}
	}
	return n
}

// since is the screen past what mark returned.
func (term *terminal) since(mark int) string { return term.screen.String()[mark:] }

// mark is the screen's current length, for since.
func (term *terminal) mark() int { return len(term.screen.String()) }

// poll types line until the screen's answer to it shows want.
func (term *terminal) poll(line, want string) {
	term.t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for {
		mark := term.mark()
		term.typeLine(line)
		if servertest.WaitFor(term.t, waitTimeout, "an answer to "+line, func() bool { return term.mark() > mark }); strings.Contains(term.since(mark), want) {
			return
		}
		if time.Now().After(deadline) {
			term.t.Fatalf("%q never showed %q:\n%s", line, want, term.screen.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// quit ends the input and returns what Run returned.
func (term *terminal) quit() error {
	term.t.Helper()
	_ = term.keys.Close()
	select {
	case err := <-term.done:
		term.done <- err // for the cleanup
		return err
	case <-time.After(30 * time.Second):
		term.t.Fatal("client did not end within 30s of the end of its input")
		return nil
	}
}

// proxy forwards loopback TCP connections to a target address, and can
// drop them all or refuse new ones, as a network or a load balancer would.
type proxy struct {
	ln net.Listener

	mu     sync.Mutex
	target string
	down   bool
	conns  map[net.Conn]bool
	wg     sync.WaitGroup
}

func startProxy(t *testing.T, target string) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln, target: target, conns: map[net.Conn]bool{}}
	p.wg.Go(p.accept)
	t.Cleanup(func() {
		_ = ln.Close()
		p.drop()
		p.wg.Wait()
	})
	return p
}

// Base is the proxy's HTTP base URL.
func (p *proxy) Base() string { return "http://" + p.ln.Addr().String() }

func (p *proxy) accept() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		down, target := p.down, p.target
		if !down {
			p.conns[c] = true
		}
		p.mu.Unlock()
		if down {
			_ = c.Close()
			continue
		}
		p.wg.Go(func() { p.forward(c, target) })
	}
}

func (p *proxy) forward(c net.Conn, target string) {
	defer func() {
		p.mu.Lock()
		delete(p.conns, c)
		p.mu.Unlock()
		_ = c.Close()
	}()
	up, err := net.Dial("tcp", target)
	if err != nil {
		return
	}
	p.mu.Lock()
	p.conns[up] = true
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		delete(p.conns, up)
		p.mu.Unlock()
		_ = up.Close()
	}()
	done := make(chan struct{}, 2)
	go func() { _, _ = io.Copy(up, c); done <- struct{}{} }()
	go func() { _, _ = io.Copy(c, up); done <- struct{}{} }()
	<-done
	_ = c.Close()
	_ = up.Close()
	<-done
}

// drop closes every forwarded connection.
func (p *proxy) drop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for c := range p.conns {
		_ = c.Close()
	}
}

// setDown refuses new connections (closing them at once) while down.
func (p *proxy) setDown(down bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = down
}

// setTarget sends new connections to another address.
func (p *proxy) setTarget(target string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.target = target
}
