// Package pgstore is the PostgreSQL event store: an events.Store on a pgx pool.
//
// # Tables
//
// tellyou_streams holds each stream's current version; tellyou_events holds
// the events, with their stream version, global position, unique event id, and
// data and metadata as json (not jsonb, which would normalise them: auditors
// get the appended bytes back). Migrate creates them; New expects them.
//
// # Appends
//
// An append is one transaction of two statements. The first checks the
// expected version on the stream's row and advances it (NoStream inserts the
// row, an expected version updates it only if it still holds that version,
// AnyVersion upserts it); the row lock this takes serialises appends to the
// same stream and to no other. The second inserts all the events from arrays.
// A failed version check inserts nothing and Append reports an
// *events.VersionConflictError.
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
// # Global positions without gaps
//
// A sequence cannot number the global log: numbers are taken at insert but
// become visible at commit, so a reader that has passed 11 never sees 10
// committed late. Instead an event's position is
//
//	(xid of its transaction << 20) + index of the event in the transaction
//
// and the readers of the global log (ReadAll, Head, Subscribe) return only
// positions below (xmin of their snapshot << 20): events of transactions older
// than every transaction still running, whose place can therefore no longer
// change. A transaction that commits late has an xid at or above that xmin, so
// its events appear above everything readers were shown: nothing is skipped.
// The price is that readers of the global log wait for the oldest running
// transaction with an xid, of any database on the server (xids are
// server-wide): keep write transactions short, and know that a session left
// idle in a transaction, or a prepared transaction, holds the global log back
// until it ends. ReadStream does not wait: it shows committed events at once,
// so a writer reads its own appends.
//
// Positions are sparse: large jumps between transactions, consecutive within
// one. The index leaves room for 2^20 events per transaction, enough for
// several appends in one transaction (appendTx takes the offset of its first
// event) as group commit will need.
//
// Within a stream, positions must follow versions. The row lock orders
// appends to a stream, but a transaction's xid is taken at its first write,
// which may come before it waits for that lock (or, with several appends in
// one transaction, long before): a transaction could then append after a
// younger one. The insert, whose snapshot postdates the lock and so shows the
// stream's last event, therefore writes nothing unless that event is below
// the new positions; Append then rolls back and retries in a new transaction,
// whose xid is newer. With one append per transaction this takes two appends
// to one stream racing within microseconds.
//
// # Subscriptions
//
// Subscribe reads with ReadAll until caught up, then waits for a wake-up: an
// append by this store (in process), a notice from another store (one LISTEN
// connection per Store feeds all its subscribers, and wakes them all after it
// reconnects, in case notices were missed), or Config.PollInterval as the
// fallback. A committed event may not be readable yet, because an older
// transaction is still running; a subscriber that finds nothing to read but
// sees that events exist beyond its position looks again after a pause of a
// few milliseconds that doubles up to PollInterval, rather than waiting for a
// whole interval.
package pgstore
