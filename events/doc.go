// Package events holds TellYou's event vocabulary and the contract of its event
// log.
//
// Every change to a session (conversation) is one of the event types in this
// package, appended to the session's own stream. The log is the only source of
// truth: read models are projections of it and can be rebuilt from it at any time.
//
// The package knows no business rules and no transport. It defines:
//   - the payload types (SessionCreated, MessageSent, ...) and their versioned JSON
//     encoding with metadata (Encode, Decode);
//   - the Store interface every event store implements (PostgreSQL in
//     events/pgstore, EventStoreDB in a later package), with the guarantees the
//     rest of the server relies on, checked by the conformance suite in
//     events/storetest.
package events
