package ws

import (
	"sync"

	"golang.org/x/time/rate"
)

// userSlots counts each user's connections to this node, up to maxConns, and
// holds the send limiter they share; a user's entry goes with the last of
// them.
type userSlots struct {
	limit    rate.Limit
	burst    int
	maxConns int

	mu    sync.Mutex
	users map[string]*userSlot
}

type userSlot struct {
	sends *rate.Limiter
	conns int
}

func newUserSlots(l Limits) *userSlots {
	return &userSlots{limit: rate.Limit(l.SendRate), burst: l.SendBurst, maxConns: l.MaxConnsPerUser,
		users: make(map[string]*userSlot)}
}

// acquire takes a connection slot for userID and returns the user's send
// limiter, or false when the user already holds maxConns connections. Every
// successful acquire must be followed by one release.
func (u *userSlots) acquire(userID string) (*rate.Limiter, bool) {
	u.mu.Lock()
	defer u.mu.Unlock()
	s := u.users[userID]
	if s == nil {
		s = &userSlot{sends: rate.NewLimiter(u.limit, u.burst)}
		u.users[userID] = s
	}
	if s.conns >= u.maxConns {
		return nil, false
	}
	s.conns++
	return s.sends, true
}

func (u *userSlots) release(userID string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if s := u.users[userID]; s != nil {
		if s.conns--; s.conns <= 0 {
			delete(u.users, userID)
		}
	}
}
