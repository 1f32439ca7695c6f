// Package presence tells who is online: a user is online while they have a
// WebSocket connection on any node, and offline, with the time their last
// connection closed (lastSeenAt), once it has closed.
//
// Presence is ephemeral state, not an event: it is not in the log, no
// projection rebuilds it. Each node's Tracker knows the users connected to
// it (the delivery hub reports a user's first connection and last
// disconnection) and, over the bus, the users connected to every other node:
// nodes publish their changes, heartbeat every Config.Heartbeat, answer a
// node they have not heard before with their whole list, and forget a node
// silent for Config.Expiry, whose users go offline. Only lastSeenAt outlives
// a restart, in the table tellyou_presence.
//
// When a user comes online or goes offline, the local connections of the
// users who share a session with them get a presence frame. Changes are
// gathered for Config.Debounce and their peers looked up in one query on
// the sessions read model (rm_members); the connection's register and close
// paths only mark the user as changed and never wait for the database.
package presence
