// Package command is the write side: a client's frame or request, once the
// transport has decoded it, becomes a command here; the command's handler
// loads the session's state (SessionRepository, cached), asks domain/ to
// decide, and appends the events that follow to the session's stream with
// the expected version, deciding again on a conflict. Commands of one session
// queued together are appended together (combine.go); the node takes on only
// as much as it can do in time (Admission); and each append is handed, right
// after it commits, to the fast path of delivery (Config.Committed).
//
// The read side, queries over the read models and pushes, is in
// handlers/query and handlers/delivery.
package command
