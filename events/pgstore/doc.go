// Package pgstore is the PostgreSQL event store: an events.Store on a pgx pool.
//
// # Tables
//
// tellyou_streams holds each stream's current version; tellyou_events holds
// the events, with their stream version, global position, unique event id, and
// data and metadata as json (not jsonb, which would normalise them: auditors
// get the appended bytes back); tellyou_log_head holds the position of the
// last event. Migrate creates them; New expects them.
//
// # Appends
//
// An append is one transaction of one round trip (commit.go): BEGIN, a call
// of the tellyou_append function (migration 003) and COMMIT, pipelined. The
// function checks the expected version on the stream's row and advances it
// (NoStream inserts the row, an expected version updates it only if it still
// holds that version, AnyVersion upserts it); the row lock this takes
// serialises appends to the same stream and to no other. It then takes the
// next positions from the one row of tellyou_log_head and inserts all the
// events from arrays. A failed version check inserts nothing and Append
// reports an *events.VersionConflictError. Concurrent appends share these
// transactions (group commit, groupcommit.go). No lock of an append is held
// while PostgreSQL waits for this process: a node whose goroutines wait for
// a CPU slows its own appends, not the log.
//
// Event ids are looked up only when an append fails (the version check or the
// event id's unique constraint), so the usual append of new ids pays nothing
// for idempotency. Ids stored in the same stream as one consecutive run, in the
// order of the call, make the append a retry: it succeeds with Duplicate set
// and the earlier versions and position. Any other reuse is an error matching
// events.ErrDuplicateEventID.
//
// After a commit, Append wakes this store's subscribers in process and asks a
// notifier goroutine to send NOTIFY tellyou_events for the other processes.
// NOTIFY is deliberately not part of the append's transaction: PostgreSQL
// serialises the commits of all transactions that notify on one global lock.
// The notifier sends one NOTIFY at a time, so a burst of appends costs one or
// two notices.
//
// # Global positions in commit order
//
// A sequence cannot number the global log: numbers are taken at insert but
// become visible at commit, so a reader that has passed 11 never sees 10
// committed late. Instead an append transaction takes its positions from
// tellyou_log_head (UPDATE ... SET position = position + n) in the same
// statement that inserts its events, right before it commits, and holds
// that row's lock until its commit ends. So transactions that append commit
// one at a time, in the order of their positions, and a transaction becomes
// visible to readers before it releases its locks: whatever a reader's
// snapshot shows of the log is a prefix of it, and no event can commit later
// below a position a reader was shown. Positions are therefore gapless
// (1, 2, 3, ...; a transaction that rolls back gives its positions back) and
// readers of the global log (ReadAll, Head, Subscribe) show every committed
// event at once: no other transaction, in this database or another of the
// server, holds them back.
//
// The price is that commits of appends are serial: one commit (one WAL
// flush) at a time for the whole log. Group commit makes each of them carry
// every append that queued meanwhile, so the log's rate grows with the load
// instead of being one flush per append. The lock is held only while
// PostgreSQL inserts and commits: it is taken after the stream rows, in the
// same round trip as COMMIT, and nothing waits on this process while it is
// held.
//
// Events appended before tellyou_log_head existed (schema version 1) keep the
// positions they had, derived from their transaction ids; the log head starts
// above the highest of them (migration 002).
//
// # Subscriptions
//
// Subscribe reads with ReadAll until caught up, then waits for a wake-up: an
// append by this store (in process), a notice from another store (one LISTEN
// connection per Store feeds all its subscribers, and wakes them all after it
// reconnects, in case notices were missed), or Config.PollInterval as the
// fallback.
package pgstore
