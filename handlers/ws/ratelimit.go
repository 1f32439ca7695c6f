package ws

import (
	"sync"

	"golang.org/x/time/rate"
)

// userLimiters holds one send limiter per user with connections on this
// node, shared by the user's connections and dropped with the last of them.
type userLimiters struct {
	limit rate.Limit
	burst int

	mu    sync.Mutex
	users map[string]*userLimiter
}

type userLimiter struct {
	lim   *rate.Limiter
	conns int
}

func newUserLimiters(perSecond float64, burst int) *userLimiters {
	return &userLimiters{limit: rate.Limit(perSecond), burst: burst, users: make(map[string]*userLimiter)}
}

func (u *userLimiters) acquire(userID string) *rate.Limiter {
	u.mu.Lock()
	defer u.mu.Unlock()
	l := u.users[userID]
	if l == nil {
		l = &userLimiter{lim: rate.NewLimiter(u.limit, u.burst)}
		u.users[userID] = l
	}
	l.conns++
	return l.lim
}

func (u *userLimiters) release(userID string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if l := u.users[userID]; l != nil {
		if l.conns--; l.conns == 0 {
			delete(u.users, userID)
		}
	}
}
