package crashtest_test

import (
	"fmt"
	"slices"
	"sync"
)

// clientStats counts what a client did and saw.
type clientStats struct {
	connections  int
	dialFailures int
	sendFrames   int // every send frame written
	resent       int // send frames of messages written before and not acked
	acked        int
	duplicates   int // acks of unacked messages that said duplicate:true
	probes       int // probes answered (always duplicates, or a problem is logged)
	sendErrors   map[string]int
	closes       map[string]int // how connections ended, when the client did not end them
	receiptAcks  int
	receiptErrs  map[string]int
	pushes       int
}

func (s *clientStats) add(o clientStats) {
	s.connections += o.connections
	s.dialFailures += o.dialFailures
	s.sendFrames += o.sendFrames
	s.resent += o.resent
	s.acked += o.acked
	s.duplicates += o.duplicates
	s.probes += o.probes
	s.receiptAcks += o.receiptAcks
	s.pushes += o.pushes
	for _, m := range []struct {
		dst *map[string]int
		src map[string]int
	}{
		{&s.sendErrors, o.sendErrors}, {&s.closes, o.closes}, {&s.receiptErrs, o.receiptErrs},
	} {
		for k, v := range m.src {
			if *m.dst == nil {
				*m.dst = map[string]int{}
			}
			(*m.dst)[k] += v
		}
	}
}

// problemLog collects what clients and checks found wrong; safe for
// concurrent use.
type problemLog struct {
	mu   sync.Mutex
	list []string
}

func (p *problemLog) add(format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.list = append(p.list, fmt.Sprintf(format, args...))
}

func (p *problemLog) all() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.list)
}
