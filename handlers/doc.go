// Package handlers turns commands into events: each handler loads a session's
// state, asks domain/ to decide, and appends the resulting events to the
// session's stream with the expected version, retrying on a conflict. Queries
// check access against the same state and then read readmodels/.
//
// The transport (WebSocket and HTTP) sits on top of this package and owns only
// framing, authentication and the mapping of domain errors to wire codes.
package handlers
