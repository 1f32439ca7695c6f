package domain

import "github.com/tellyou/tellyou/events"

// EraseCommand asks that everything UserID said be forgotten.
type EraseCommand struct {
	// Actor is who asks: the user themself or an operator.
	Actor string
	// ActorIsAdmin is true when the actor holds the admin role.
	ActorIsAdmin bool
	// UserID is the user whose content is erased. Users are not registered:
	// any well-formed user id can be erased, including one that never sent
	// anything, so that an erasure can precede a first message.
	UserID string
	// Now is the server time of the decision, ms since the Unix epoch.
	Now int64
}

// DecideErase returns the UserErased event of an erasure: the user may erase
// themself, an admin may erase anyone. A malformed user id is KindInvalid;
// anyone else is KindForbidden.
func DecideErase(cmd EraseCommand) (events.UserErased, error) {
	if !ValidUserID(cmd.UserID) {
		return events.UserErased{}, invalid("invalid user id")
	}
	if cmd.Actor != cmd.UserID && !cmd.ActorIsAdmin {
		return events.UserErased{}, forbidden("only the user themself or an admin can erase a user")
	}
	return events.UserErased{UserID: cmd.UserID, By: cmd.Actor, ErasedAt: cmd.Now}, nil
}
