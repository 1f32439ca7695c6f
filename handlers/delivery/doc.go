// Package delivery carries committed events to the WebSocket connections of
// this node: messages, recalls, edits, reactions and receipts as pushes, and
// typing notices.
// Its files are numbered in the order an event travels:
//
//	01_committed  the fast path: right after Append returns, the appender
//	              hands the append, as the values it holds, to the hub
//	              (Hub.Committed): no read back, no decode
//	02_bus        with several nodes, the same append goes on the bus (NATS
//	              JetStream through watermill, one message per event, its id
//	              the event id) and the other nodes' hubs take it from there
//	03_follower   the backstop: every node follows the log from the head it
//	              started at (the process's one tail, events/tail) and hands
//	              every event to its hub, so that what no fast path delivered
//	              (the appender died before publishing, the bus was down, an
//	              inbox was full) is delivered a moment later
//	04_sequence   each session's events are put in version order and copies
//	              are dropped, whichever way they came; the follower is the
//	              authority
//	05_shard      a session's events go through one shard goroutine, one at a
//	              time; a shard retries an event whose members cannot be
//	              resolved, then dead-letters it (deadletter.go)
//	06_deliver    an event becomes frames for the members' connections
//	07_members    the members of a session, cached per shard
//	08_frames     a frame is encoded once, and the same bytes go to every
//	              recipient
//	09_connections the connections registered with the hub (Outbox, Client);
//	              a ConnectionObserver (presence) hears of a user's first
//	              and last connection, and PushNotice hands it the frames
//	              that are not events
//	10_redelivery  a message not acked as received in time is pushed again,
//	              never to a connection that is still reading what it was sent
//
// hub.go holds the configuration and runs the shards and the bus; typing.go
// relays typing notices, which are never stored.
//
// Guarantees: every event appended after the node's follower started is
// delivered to the connections registered when it is delivered, once, in
// version order per session (a copy that comes by another way is dropped);
// a run of events waits at most Options.HoldTimeout for the events before it
// (a client's sync repairs the gap that may then leave); a push no client
// acked is redelivered at most MaxRedeliveries times. Delivery never holds an
// append up: the fast path never blocks, and the follower waits for the hub,
// not the other way round.
package delivery
