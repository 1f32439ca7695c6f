// Package esdbstore is the EventStoreDB implementation of events.Store, on the
// gRPC client github.com/EventStore/EventStore-Client-Go/v4 (package esdb).
// Only this package knows the client: replacing it with its successor,
// github.com/kurrent-io/KurrentDB-Client-Go, touches nothing else.
//
// # Streams and versions
//
// A TellYou stream is the EventStoreDB stream of the same name. Versions are
// 1-based, EventStoreDB revisions 0-based: version = revision + 1. Expected
// versions map to esdb.NoStream{} (events.NoStream), esdb.Any{}
// (events.AnyVersion) and esdb.StreamRevision{Value: n - 1} (version n). Events
// are appended with the JSON content type; EventData.Metadata is the event's
// user metadata. Both are stored and returned byte for byte.
//
// # Global positions
//
// events.Position is the event's commit position in the transaction log (a
// byte offset, uint64 in the client, below 2^63 in practice since the server
// keeps it as a signed 64-bit integer; a larger one is reported as an error,
// never wrapped). Every append through the gRPC API is an implicit transaction
// whose events each get their own commit position, equal to their prepare
// position, so positions are unique per event and grow in $all order. Stream
// reads on servers older than 22.6 do not carry the commit position (the
// client shows math.MaxUint64); the prepare position, which is then the
// event's log position and so the same number, is used instead.
//
// Resuming after position P reads $all from esdb.Position{Commit: P,
// Prepare: P}: the server includes the event at P in a forward read, so the
// store skips every event at or below P. Positions are meaningful only to the
// EventStoreDB store that issued them.
//
// # Filter
//
// The global log is $all restricted to the streams whose id matches
// Config.StreamFilter (default ^[dg]:, TellYou's direct and group sessions),
// which also leaves out system streams ($...). Subscribe filters on the server
// (a stream-id regex filter); ReadAll and Head filter in the client, because
// the client's ReadAll has no filter option, and so read every event of $all
// in the range they scan. Keep the expression to the syntax .NET and Go
// regular expressions share.
//
// # Idempotency
//
// EventStoreDB makes an append idempotent on event ids when it is retried
// with the same expected revision, and answers it as a success that cannot be
// told from a first write. To report Duplicate as events.Store requires,
// Append first reads the part of the stream where a retry would have landed:
// versions expected-n+1 to expected+n for n events (the tail's last n events
// for AnyVersion). Ids found there, as one run in call order, make a
// Duplicate with the stored versions and position; found otherwise they make
// ErrDuplicateEventID. After a wrong-expected-version answer it looks at the
// stream's last n events the same way before reporting the conflict. That
// costs one stream read per append. Limits: an id reused in another stream is
// not detected (EventStoreDB has no global id index; storetest runs with
// Features{GlobalEventIDs: false}), nor a retry whose events lie outside both
// windows; and a retry racing its own original may be answered by
// EventStoreDB's idempotency as a plain success with the original versions.
package esdbstore
