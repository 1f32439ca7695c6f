package ws

import (
	"context"
	"sync"
	"time"
)

// pingSchedule pings every open connection of a handler, each PingInterval
// after its previous pong (or after it opened), from one goroutine for all of
// them: an idle connection costs a list entry, not a goroutine and a timer.
//
// Every connection waits the same interval, so the list is kept in due order
// simply by appending at the tail with the current time: the scheduler pops
// from the head. A connection leaves the list when its ping is sent and comes
// back when the pong arrives, so it has at most one ping in flight. The
// scheduler goroutine runs only while the list holds connections; wg counts
// it.
type pingSchedule struct {
	interval time.Duration
	// ping sends one ping; it must not block (it starts a goroutine).
	ping func(*conn)

	mu         sync.Mutex
	head, tail *conn
	running    bool
	wake       chan struct{} // the list's head changed
	wg         sync.WaitGroup
}

// pingEntry is a connection's place in the schedule; the schedule's mutex
// guards it.
type pingEntry struct {
	prev, next *conn
	due        time.Time
	queued     bool
}

func newPingSchedule(interval time.Duration, ping func(*conn)) *pingSchedule {
	return &pingSchedule{interval: interval, ping: ping, wake: make(chan struct{}, 1)}
}

// add schedules c's next ping one interval from now. c must not be queued.
func (s *pingSchedule) add(c *conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := &c.pingEntry
	e.due, e.queued, e.next, e.prev = time.Now().Add(s.interval), true, nil, s.tail
	if s.tail == nil {
		s.head = c
	} else {
		s.tail.pingEntry.next = c
	}
	s.tail = c
	if !s.running {
		s.running = true
		s.wg.Go(s.run)
	} else if s.head == c {
		s.signal()
	}
}

// remove takes c off the schedule, if it is on it. The scheduler wakes when
// the head goes, so that it stops once the last connection has.
func (s *pingSchedule) remove(c *conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !c.pingEntry.queued {
		return
	}
	if s.head == c {
		s.signal()
	}
	s.unlink(c)
}

func (s *pingSchedule) unlink(c *conn) {
	e := &c.pingEntry
	if e.prev == nil {
		s.head = e.next
	} else {
		e.prev.pingEntry.next = e.next
	}
	if e.next == nil {
		s.tail = e.prev
	} else {
		e.next.pingEntry.prev = e.prev
	}
	e.prev, e.next, e.queued = nil, nil, false
}

func (s *pingSchedule) signal() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// run pings the connections that are due, then sleeps until the next one is;
// it returns once the list is empty (add starts it again).
func (s *pingSchedule) run() {
	timer := time.NewTimer(s.interval)
	defer timer.Stop()
	var due []*conn
	for {
		s.mu.Lock()
		now := time.Now()
		for s.head != nil && !s.head.pingEntry.due.After(now) {
			c := s.head
			s.unlink(c)
			due = append(due, c)
		}
		if s.head == nil && len(due) == 0 {
			s.running = false
			s.mu.Unlock()
			return
		}
		wait := s.interval
		if s.head != nil {
			wait = s.head.pingEntry.due.Sub(now)
		}
		s.mu.Unlock()

		for i, c := range due {
			s.ping(c)
			due[i] = nil
		}
		due = due[:0]
		timer.Reset(wait)
		select {
		case <-timer.C:
		case <-s.wake:
		}
	}
}

// wait waits for the scheduler goroutine, which ends once no connection is
// left on the schedule.
func (s *pingSchedule) wait() { s.wg.Wait() }

// ping sends c a ping on a goroutine of its own that lives until the pong
// comes back (a round trip), or PingTimeout passes and the connection is
// dropped: the peer is gone (a half-open TCP connection) or stopped reading.
// The reader reads the pong (a parked connection's reader starts when it
// arrives), so a frame being handled can delay it by up to HandleTimeout;
// PingTimeout allows for that. Once the pong is in, c goes
// back on the schedule. Each ping also looks at the token's expiry.
func (c *conn) ping() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closing {
		return
	}
	c.watchExpiryLocked()
	c.tasks.Go(func() {
		ctx, cancel := context.WithTimeout(context.Background(), c.h.cfg.Limits.PingTimeout)
		err := c.ws.Ping(ctx)
		cancel()
		if err == nil {
			c.h.pings.add(c)
			return
		}
		if !c.isClosing() {
			c.h.cfg.Logger.Info("dropping a websocket client that did not answer a ping", "user", c.user.UserID, "conn_id", c.id, "err", err)
		}
		_ = c.ws.CloseNow()
	})
}
