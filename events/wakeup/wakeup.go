// Package wakeup wakes every waiting reader of a log at once when something
// new is there: the store's subscribers, the tail's followers.
package wakeup

import "sync"

// Broadcast wakes every waiter at once: waiters take the current channel,
// and Wake closes it and puts a fresh one in its place. Safe for concurrent
// use.
type Broadcast struct {
	mu sync.Mutex
	ch chan struct{}
}

// New returns a Broadcast with nobody woken yet.
func New() *Broadcast {
	return &Broadcast{ch: make(chan struct{})}
}

// Wait returns a channel closed by the next Wake. Take it before looking for
// something new, so that a Wake between the look and the wait is not lost.
func (b *Broadcast) Wait() <-chan struct{} {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.ch
}

// Wake wakes everyone waiting on a channel Wait returned.
func (b *Broadcast) Wake() {
	b.mu.Lock()
	defer b.mu.Unlock()
	close(b.ch)
	b.ch = make(chan struct{})
}
