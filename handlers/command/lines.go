package command

import (
	"hash/maphash"
	"sync"
)

// lineShards is the number of independently locked maps of session lines.
const lineShards = 64

// sessionLines holds a line for every session that has a command or a
// reader in this process right now: the lock that serialises the session's
// commands and views, and the commands waiting for it (see combine.go). Each
// session has a lock of its own, so a busy session never holds up another;
// a line lives while someone uses it and is dropped by its last user.
type sessionLines struct {
	seed   maphash.Seed
	shards [lineShards]lineShard
}

type lineShard struct {
	mu    sync.Mutex
	lines map[string]*sessionLine
}

// sessionLine is one session's lock and waiting commands.
type sessionLine struct {
	mu      sync.Mutex
	qmu     sync.Mutex
	waiting []*pendingUpdate
	// users counts join calls not yet left, under the shard's lock.
	users int
}

func newSessionLines() *sessionLines {
	s := &sessionLines{seed: maphash.MakeSeed()}
	for i := range s.shards {
		s.shards[i].lines = map[string]*sessionLine{}
	}
	return s
}

func (s *sessionLines) shard(sessionID string) *lineShard {
	return &s.shards[maphash.String(s.seed, sessionID)%lineShards]
}

// join returns the session's line, counting the caller as a user until it
// calls leave.
func (s *sessionLines) join(sessionID string) *sessionLine {
	sh := s.shard(sessionID)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	l := sh.lines[sessionID]
	if l == nil {
		l = &sessionLine{}
		sh.lines[sessionID] = l
	}
	l.users++
	return l
}

// leave counts a user of the session's line out, dropping the line after its
// last user.
func (s *sessionLines) leave(sessionID string, l *sessionLine) {
	sh := s.shard(sessionID)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if l.users--; l.users == 0 {
		delete(sh.lines, sessionID)
	}
}

func (l *sessionLine) enqueue(op *pendingUpdate) {
	l.qmu.Lock()
	l.waiting = append(l.waiting, op)
	l.qmu.Unlock()
}

// take removes and returns the waiting commands, oldest first, up to
// maxCombined. The caller holds l.mu and its own command is among them: only
// a holder of l.mu removes commands, and it answers every command it removes.
func (l *sessionLine) take() []*pendingUpdate {
	l.qmu.Lock()
	defer l.qmu.Unlock()
	n := min(len(l.waiting), maxCombined)
	batch := make([]*pendingUpdate, n)
	copy(batch, l.waiting)
	rest := copy(l.waiting, l.waiting[n:])
	clear(l.waiting[rest:])
	l.waiting = l.waiting[:rest]
	return batch
}
