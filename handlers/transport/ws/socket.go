package ws

import (
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// errParked is what a socket's Read returns, instead of blocking, when the
// library asks for a new message and no byte has arrived: the connection's
// reader then parks the connection (see conn.readNext).
var errParked = errors.New("websocket read parked: no bytes have arrived")

// socket is an upgraded TCP connection as the WebSocket library sees it
// (the net.Conn it reads from and closes). It adds three things:
//
//   - Read parks: when the library waits for the start of a new message (all
//     the bytes read so far make whole messages, see frameScanner) and none
//     has arrived, Read returns errParked at once instead of blocking, and
//     the connection goes to the handler's idlePoller without a goroutine.
//     A read in the middle of a message, or once the connection is closing,
//     blocks as usual;
//   - the library writes into out (a frameWriter), which puts runs of frames
//     on the connection with one write each;
//   - Close takes the connection off the idlePoller before closing it.
type socket struct {
	net.Conn
	// raw reads without blocking and fd names the connection to the poller;
	// raw is nil when the connection offers no raw access, and then the
	// socket never parks.
	raw    syscall.RawConn
	fd     int
	poller *idlePoller
	// conn is the connection the socket carries, set once it is open.
	conn *conn
	// early holds bytes the client sent with the upgrade request, read
	// before the connection's own.
	early []byte
	// in follows the frames read; only the library's reader touches it.
	in      frameScanner
	parking atomic.Bool
	// poll is the socket's state in the poller, guarded by the poller's
	// mutex.
	poll pollState
	out  frameWriter
}

func newSocket(nc net.Conn, buffers *sync.Pool, poller *idlePoller, stall time.Duration) *socket {
	s := &socket{Conn: nc, poller: poller, out: frameWriter{conn: nc, pool: buffers, stall: stall}}
	if sc, ok := nc.(syscall.Conn); ok && poller.supported() {
		if raw, err := sc.SyscallConn(); err == nil {
			if err := raw.Control(func(fd uintptr) { s.fd = int(fd) }); err == nil {
				s.raw = raw
				s.parking.Store(true)
			}
		}
	}
	return s
}

// Read reads the connection for the library, parking between messages (see
// socket).
func (s *socket) Read(p []byte) (int, error) {
	var n int
	var err error
	parking := s.parking.Load()
	switch {
	case len(s.early) > 0:
		n = copy(p, s.early)
		if s.early = s.early[n:]; len(s.early) == 0 {
			s.early = nil
		}
	case parking && s.in.atMessageEnd():
		n, err = s.readNow(p)
		if errors.Is(err, errWouldBlock) {
			return 0, errParked
		}
	default:
		n, err = s.Conn.Read(p)
	}
	if parking && n > 0 {
		if _, serr := s.in.scan(p[:n]); serr != nil {
			// Not a stream the library accepts: it fails the connection
			// soon; until then reads block.
			s.stopParking()
		}
	}
	return n, err
}

// stopParking makes every later read block: the close handshake waits for
// the client's close frame.
func (s *socket) stopParking() { s.parking.Store(false) }

// Close takes the socket off the idle poller, waking the connection's reader
// if it was parked, and closes the connection.
func (s *socket) Close() error {
	s.poller.forget(s)
	return s.Conn.Close()
}
