package main

import (
	"net"
	"net/url"
	"sync"
	"testing"
)

// pgForwarder is a test's own TCP forwarder to PostgreSQL: a loopback
// listener that relays each connection to the server. Silenced, it keeps
// every connection open and takes new ones, but passes no bytes either way,
// as a database that hangs or a network that drops every packet does: what
// it reads meanwhile waits, and goes on once it speaks again.
type pgForwarder struct {
	ln     net.Listener
	target string
	closed chan struct{}
	wg     sync.WaitGroup

	mu    sync.Mutex
	quiet chan struct{} // while silent: closed when the forwarder speaks again
	conns map[net.Conn]struct{}
}

// newPGForwarder forwards to target (host:port) until the test ends.
func newPGForwarder(t *testing.T, target string) *pgForwarder {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &pgForwarder{ln: ln, target: target, closed: make(chan struct{}), conns: map[net.Conn]struct{}{}}
	f.wg.Go(f.accept)
	t.Cleanup(f.close)
	return f
}

// pgForwarderFor starts a forwarder to databaseURL's server and returns it
// with the URL to reach the database through it.
func pgForwarderFor(t *testing.T, databaseURL string) (*pgForwarder, string) {
	t.Helper()
	u, err := url.Parse(databaseURL)
	if err != nil {
		t.Fatal(err)
	}
	f := newPGForwarder(t, u.Host)
	u.Host = f.ln.Addr().String()
	return f, u.String()
}

// Silence stops every byte, on open and new connections alike.
func (f *pgForwarder) Silence() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.quiet == nil {
		f.quiet = make(chan struct{})
	}
}

// Speak lets bytes through again, those held back first.
func (f *pgForwarder) Speak() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.quiet != nil {
		close(f.quiet)
		f.quiet = nil
	}
}

// waitToSpeak returns true once bytes may pass, false once the forwarder is
// closed.
func (f *pgForwarder) waitToSpeak() bool {
	f.mu.Lock()
	quiet := f.quiet
	f.mu.Unlock()
	if quiet == nil {
		return true
	}
	select {
	case <-quiet:
		return true
	case <-f.closed:
		return false
	}
}

func (f *pgForwarder) accept() {
	for {
		client, err := f.ln.Accept()
		if err != nil {
			return // closed
		}
		server, err := net.Dial("tcp", f.target)
		if err != nil {
			client.Close()
			continue
		}
		if !f.track(client, server) {
			return
		}
		f.wg.Go(func() { f.pipe(server, client) })
		f.wg.Go(func() { f.pipe(client, server) })
	}
}

// track registers a relayed pair for close; false (and both closed) once
// the forwarder is closed.
func (f *pgForwarder) track(conns ...net.Conn) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	select {
	case <-f.closed:
		for _, c := range conns {
			c.Close()
		}
		return false
	default:
	}
	for _, c := range conns {
		f.conns[c] = struct{}{}
	}
	return true
}

// pipe copies src to dst, holding what it reads while the forwarder is
// silent; when either side ends, both are closed.
func (f *pgForwarder) pipe(dst, src net.Conn) {
	defer func() {
		dst.Close()
		src.Close()
	}()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if !f.waitToSpeak() {
				return
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// close stops the forwarder and ends every connection it relays.
func (f *pgForwarder) close() {
	f.mu.Lock()
	close(f.closed)
	for c := range f.conns {
		c.Close()
	}
	f.mu.Unlock()
	_ = f.ln.Close()
	f.wg.Wait()
}
