package projectiontest

import "github.com/tellyou/tellyou/events"

// Erase appends a UserErased of user, asked by by, to the user's stream.
func (e *Env) Erase(user, by string) events.UserErased {
	e.TB.Helper()
	ev := events.UserErased{UserID: user, By: by, ErasedAt: e.Now()}
	e.Append(events.UserStreamPrefix+user, ev)
	return ev
}
