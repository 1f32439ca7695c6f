package chatclient

import (
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// How the client waits out an overloaded server. The server's hint
// (retryAfterMs, or Retry-After over HTTP) is a floor: the client waits the
// hint plus up to a quarter more at random, so that clients refused together
// do not come back together. A missing hint counts as defaultRetryHint; one
// past maxRetryHint counts as maxRetryHint, so a bad hint cannot park a
// message for hours.
const (
	defaultRetryHint = time.Second
	minRetryHint     = 50 * time.Millisecond
	maxRetryHint     = 30 * time.Second
	// httpOverloadRetries is how often an HTTP request answered 503
	// overloaded is sent again before its error is shown.
	httpOverloadRetries = 3
	// busyNoteAfter is how long something must have been held back by an
	// overloaded server, without a break, before the user is told.
	busyNoteAfter = 3 * time.Second
)

// overloadDelay is the wait after an overloaded answer carrying hintMs.
func overloadDelay(hintMs int64) time.Duration {
	hint := defaultRetryHint
	if hintMs > 0 {
		hint = time.Duration(hintMs) * time.Millisecond
	}
	hint = min(maxRetryHint, max(minRetryHint, hint))
	return hint + rand.N(hint/4+1)
}

// httpRetryHintMs is the hint of a 503 overloaded answer: the body's
// retryAfterMs, else Retry-After in seconds, else 0 (no hint).
func httpRetryHintMs(h http.Header, refused *ServerError) int64 {
	if refused.RetryAfterMs > 0 {
		return refused.RetryAfterMs
	}
	if s, err := strconv.ParseInt(h.Get("Retry-After"), 10, 64); err == nil && s >= 0 {
		return s * 1000
	}
	return 0
}

// busyNote tells the user once when the server has been refusing work as
// overloaded for busyNoteAfter without a break; a refusal that clears sooner
// shows nothing. It is safe for concurrent use.
type busyNote struct {
	out   *printer
	after time.Duration

	mu      sync.Mutex
	held    int         // refused frames and requests waiting to go again
	period  int         // counts the spells of refusals, so a late timer knows it is stale
	timer   *time.Timer // runs while held > 0 and the note is not shown yet
	stopped bool
}

// hold marks one refused frame or request as waiting to go again. Call the
// returned function once it is over (answered, or given up); calling it
// again does nothing.
func (b *busyNote) hold() (release func()) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.held++
	if b.held == 1 && !b.stopped {
		b.period++
		period := b.period
		b.timer = time.AfterFunc(b.after, func() {
			b.mu.Lock()
			defer b.mu.Unlock()
			if b.held > 0 && b.period == period && !b.stopped {
				b.out.printf("the server is busy; retrying")
			}
		})
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			b.mu.Lock()
			defer b.mu.Unlock()
			b.held--
			if b.held == 0 && b.timer != nil {
				b.timer.Stop()
				b.period++
			}
		})
	}
}

// stop ends the notes: nothing is printed after it returns.
func (b *busyNote) stop() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.stopped = true
	if b.timer != nil {
		b.timer.Stop()
	}
}
