// Package projections builds the read models of readmodels/ from the event
// log, and rebuilds them.
//
// # Projections
//
// A Projection owns some read-model tables and turns the events it handles
// into statements on them. This package defines three, and All returns them:
//
//   - "history" (History) owns rm_messages and rm_reactions: MessageSent,
//     MessageRecalled, MessageEdited, ReactionAdded, ReactionRemoved.
//   - "sessions" (Sessions) owns rm_sessions and rm_members: SessionCreated,
//     MembersAdded, MembersRemoved, MessageSent, MessagesReceived,
//     MessagesRead, MemberSettingsChanged.
//   - "search" (Search) owns rm_search: MessageSent, MessageEdited,
//     MessageRecalled.
//
// Each is independent: its own checkpoint, its own goroutine, its own
// failures. Events of other types pass without being decoded.
//
// # Runner: exactly-once over at-least-once
//
// Runner subscribes each projection to the global log from its checkpoint
// (rm_checkpoints) and applies every delivered batch in one transaction that
// locks the checkpoint row, skips the events at or below it, applies the rest
// and advances it. A redelivered event, a runner restarted after a crash, or
// a second runner in another process following the same database: each event
// takes effect exactly once, because its effect and the checkpoint past it
// commit together. The statements of a batch go to PostgreSQL in one
// pipelined round trip.
//
// An event that cannot be decoded or applied stops its projection just below
// it (the events before it commit), is logged and retried with backoff; the
// projection never skips it, and the others go on. Once the event is repaired
// in the log (an operator's UPDATE of the row), the next retry applies it and
// the projection catches up. A database that goes away is retried the same
// way, from the stored checkpoint. Runner.Status tells which projection is
// failing and where it stands, RunnerConfig.OnFailure hears of every failed
// attempt, and Lag tells how far each trails the log.
//
// # Rebuild: blue/green
//
// Rebuild replays the whole log into fresh copies of a projection's tables
// while the live ones keep serving and updating, then swaps them in one short
// transaction that also moves the checkpoint (see Rebuild). Readers see the
// old tables or the complete new ones, never a table being filled. A rebuild
// runs alongside live runners of any process and needs no downtime; it has no
// side effects beyond the copies (nothing is pushed to clients).
//
// The package reads events through events.Store only, and writes only the
// read-model tables.
package projections
