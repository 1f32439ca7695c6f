// Package query is the read side of the HTTP API and the sync frame: each
// query checks the user's access against the session's state (the write
// side's cached SessionRepository, which is never behind the log) and then
// reads readmodels/, the projections of the log. A forward page waits a
// moment for a lagging read model rather than miss what the log has.
package query
