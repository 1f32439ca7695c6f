package ws

import (
	"sync"
	"testing"
	"time"
)

// pingLog records the schedule's pings, and puts each pinged connection
// back on the schedule as an answered pong would, until it has been pinged
// rounds times.
type pingLog struct {
	mu     sync.Mutex
	at     map[*conn][]time.Time
	order  []*conn
	rounds int
	s      *pingSchedule
}

func (l *pingLog) ping(c *conn) {
	l.mu.Lock()
	l.at[c] = append(l.at[c], time.Now())
	l.order = append(l.order, c)
	again := len(l.at[c]) < l.rounds
	l.mu.Unlock()
	if again {
		l.s.add(c)
	}
}

func (l *pingLog) pings(c *conn) []time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]time.Time(nil), l.at[c]...)
}

func TestPingScheduleSpacesPingsAndStopsWhenEmpty(t *testing.T) {
	t.Parallel()
	const interval = 30 * time.Millisecond
	log := &pingLog{at: map[*conn][]time.Time{}, rounds: 3}
	s := newPingSchedule(interval, log.ping)
	log.s = s

	a, b, gone := &conn{}, &conn{}, &conn{}
	added := time.Now()
	s.add(a)
	s.add(gone)
	time.Sleep(interval / 3)
	s.add(b)
	s.remove(gone) // closed before its first ping

	// The scheduler goroutine ends once nobody is left to ping.
	waited := make(chan struct{})
	go func() {
		deadline := time.Now().Add(10 * time.Second)
		for len(log.pings(a)) < 3 || len(log.pings(b)) < 3 {
			if time.Now().After(deadline) {
				break
			}
			time.Sleep(time.Millisecond)
		}
		s.wait()
		close(waited)
	}()
	select {
	case <-waited:
	case <-time.After(20 * time.Second):
		t.Fatal("the scheduler goroutine did not end with an empty schedule")
	}

	for name, c := range map[string]*conn{"a": a, "b": b} {
		at := log.pings(c)
		if len(at) != 3 {
			t.Fatalf("%s pinged %d times, want 3", name, len(at))
		}
		prev := added
		for i, p := range at {
			if gap := p.Sub(prev); gap < interval {
				t.Errorf("%s's ping %d came %v after the previous one, want at least %v", name, i+1, gap, interval)
			}
			prev = p
		}
	}
	if n := len(log.pings(gone)); n != 0 {
		t.Errorf("a removed connection was pinged %d times", n)
	}
	log.mu.Lock()
	first := log.order[0]
	log.mu.Unlock()
	if first != a {
		t.Error("the connection added first was not pinged first")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.running || s.head != nil || s.tail != nil {
		t.Errorf("schedule after the last ping: running %v, head %p, tail %p", s.running, s.head, s.tail)
	}
}

func TestPingScheduleRestartsAfterEmptying(t *testing.T) {
	t.Parallel()
	log := &pingLog{at: map[*conn][]time.Time{}, rounds: 1}
	s := newPingSchedule(5*time.Millisecond, log.ping)
	log.s = s
	for round := range 3 {
		c := &conn{}
		s.add(c)
		deadline := time.Now().Add(10 * time.Second)
		for len(log.pings(c)) == 0 {
			if time.Now().After(deadline) {
				t.Fatalf("round %d: the connection was never pinged", round)
			}
			time.Sleep(time.Millisecond)
		}
		s.wait()
	}
}
