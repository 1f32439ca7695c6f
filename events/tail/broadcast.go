package tail

import "sync"

// broadcast wakes every waiting follower at once: waiters take the current
// channel, and wake closes it and puts a fresh one in its place.
type broadcast struct {
	mu sync.Mutex
	ch chan struct{}
}

func newBroadcast() *broadcast {
	return &broadcast{ch: make(chan struct{})}
}

// wait returns a channel closed by the next wake. Take it before looking for
// new events, so that a wake between the look and the wait is not lost.
func (b *broadcast) wait() <-chan struct{} {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.ch
}

func (b *broadcast) wake() {
	b.mu.Lock()
	defer b.mu.Unlock()
	close(b.ch)
	b.ch = make(chan struct{})
}
