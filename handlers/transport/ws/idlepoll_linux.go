//go:build linux

package ws

import (
	"errors"
	"io"
	"os"
	"sync"
	"syscall"
)

// errWouldBlock: a read found no byte waiting.
var errWouldBlock = errors.New("websocket read would block")

// idlePoller holds a handler's parked connections: connections whose
// reader found no byte of a new message waiting. It keeps them in an epoll
// instance of its own (each socket registered once, armed one-shot at each
// park) and waits for it on one goroutine, through the runtime's network
// poller, which sees the epoll instance become readable. When a parked
// socket becomes readable, or closes, the poller starts the connection's
// reader again on a fresh goroutine. So an idle connection costs no
// goroutine and no stack, only its place in the epoll instance and in
// parked.
//
// The epoll instance and the goroutine exist only while some socket is
// registered: the last one to close takes them down (wait waits for the
// goroutine). A park whose bytes arrived in the meantime is not lost: arming
// a socket makes epoll check it at once.
type idlePoller struct {
	mu   sync.Mutex
	file *os.File // the epoll instance; nil while no socket is registered
	epfd int
	// gen numbers the epoll instances: a socket registered with an earlier
	// one is added to the current one anew.
	gen uint64
	// parked holds the parked sockets by the token of their park, which
	// their epoll event carries; a stale event's token finds nothing.
	parked     map[uint64]*socket
	lastToken  uint64
	registered int
	wg         sync.WaitGroup
}

// pollState is a socket's place in the poller, guarded by its mutex.
type pollState struct {
	gen    uint64 // of the epoll instance the socket is registered with; 0: none
	token  uint64
	parked bool
	closed bool
}

func newIdlePoller() *idlePoller { return &idlePoller{parked: make(map[uint64]*socket)} }

func (p *idlePoller) supported() bool { return true }

// park arms s's registration for its next readable event (or hang-up) and
// reports whether it did. Once it has, the connection's reader must end: the
// poller starts a new one. It fails for a closed socket, whose reader then
// finds the connection closed.
func (p *idlePoller) park(s *socket) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if s.poll.closed {
		return false
	}
	if p.file == nil {
		if err := p.openLocked(); err != nil {
			return false
		}
	}
	op := syscall.EPOLL_CTL_MOD
	if s.poll.gen != p.gen {
		op = syscall.EPOLL_CTL_ADD
	}
	p.lastToken++
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN | syscall.EPOLLRDHUP | syscall.EPOLLONESHOT,
		Fd: int32(uint32(p.lastToken)), Pad: int32(uint32(p.lastToken >> 32))}
	if err := syscall.EpollCtl(p.epfd, op, s.fd, &ev); err != nil {
		if p.registered == 0 {
			p.closeLocked()
		}
		return false
	}
	if op == syscall.EPOLL_CTL_ADD {
		s.poll.gen = p.gen
		p.registered++
	}
	s.poll.token, s.poll.parked = p.lastToken, true
	p.parked[p.lastToken] = s
	return true
}

// forget takes s off the poller before its connection closes: it is not
// registered any more, and its reader, if it was parked, starts again (to
// find the connection closed). The last socket to go takes the epoll
// instance with it.
func (p *idlePoller) forget(s *socket) {
	p.mu.Lock()
	defer p.mu.Unlock()
	s.poll.closed = true
	if s.poll.parked {
		delete(p.parked, s.poll.token)
		s.poll.parked = false
		go s.conn.readNext()
	}
	if p.file == nil || s.poll.gen != p.gen {
		return
	}
	s.poll.gen = 0
	_ = syscall.EpollCtl(p.epfd, syscall.EPOLL_CTL_DEL, s.fd, &syscall.EpollEvent{})
	if p.registered--; p.registered == 0 {
		p.closeLocked()
	}
}

// wait waits for the poller's goroutine, which ends once no socket is
// registered.
func (p *idlePoller) wait() { p.wg.Wait() }

// openLocked creates the epoll instance and starts its goroutine.
func (p *idlePoller) openLocked() error {
	epfd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return err
	}
	// Non-blocking, so that the runtime's poller takes it: the goroutine
	// waits there, not in a blocked thread.
	if err := syscall.SetNonblock(epfd, true); err != nil {
		_ = syscall.Close(epfd)
		return err
	}
	file := os.NewFile(uintptr(epfd), "websocket idle poller")
	raw, err := file.SyscallConn()
	if err != nil {
		_ = file.Close()
		return err
	}
	p.file, p.epfd = file, epfd
	p.gen++
	p.wg.Go(func() { p.run(raw, epfd) })
	return nil
}

// closeLocked closes the epoll instance, which ends its goroutine. The
// close waits for the goroutine's epoll_wait, which takes p.mu, so it runs
// on a goroutine of its own; wg counts it too.
func (p *idlePoller) closeLocked() {
	file := p.file
	p.file = nil
	p.wg.Go(func() { _ = file.Close() })
}

// run takes the epoll instance's events until it is closed: each event
// wakes its socket's connection.
func (p *idlePoller) run(raw syscall.RawConn, epfd int) {
	var events [64]syscall.EpollEvent
	take := func(uintptr) bool {
		n, err := syscall.EpollWait(epfd, events[:], 0)
		for err == syscall.EINTR {
			n, err = syscall.EpollWait(epfd, events[:], 0)
		}
		if err != nil || n <= 0 {
			return false // wait until the instance is readable again
		}
		p.wake(events[:n])
		return true
	}
	for raw.Read(take) == nil {
	}
}

// wake starts the reader of each parked socket an event names.
func (p *idlePoller) wake(events []syscall.EpollEvent) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, ev := range events {
		token := uint64(uint32(ev.Fd)) | uint64(uint32(ev.Pad))<<32
		s, ok := p.parked[token]
		if !ok {
			continue
		}
		delete(p.parked, token)
		s.poll.parked = false
		go s.conn.readNext()
	}
}

// readNow reads what has arrived without waiting: errWouldBlock when
// nothing has.
func (s *socket) readNow(p []byte) (int, error) {
	var n int
	var errno error
	err := s.raw.Read(func(fd uintptr) bool {
		for {
			n, errno = syscall.Read(int(fd), p)
			if errno != syscall.EINTR {
				return true
			}
		}
	})
	switch {
	case err != nil:
		return 0, err
	case errno == syscall.EAGAIN:
		return 0, errWouldBlock
	case errno != nil:
		return 0, os.NewSyscallError("read", errno)
	case n == 0:
		return 0, io.EOF
	}
	return n, nil
}
