// Package push carries the event log to the clients connected to this node.
//
// Pushes come from the log, never from the command handlers, so a message
// appended by any node reaches the clients of every node:
//
//	events.Store --Follower--> bus topic "tellyou.events" --Hub--> local connections
//
// The Follower subscribes to the log from its head (live events only: history
// is never pushed again; a reconnecting client syncs) and publishes each event
// on a watermill topic. The Hub consumes the topic and turns events into frames
// for the connections registered with it: a message to every online device of
// every member (the sending connection excepted), a recall to every member, a
// receipt to the other members. Typing notices travel on a second topic and are
// never stored.
//
// Guarantees: the Hub handles bus messages one at a time and acks each after
// handling it, so frames of one session reach a connection in seq order. It
// tolerates at-least-once delivery: an event whose stream version it has
// already handled is dropped. Handing a frame to a connection never blocks (see
// Outbox). A pushed message that the user does not ack as received within the
// redelivery timeout is pushed to that connection again, a bounded number of
// times.
//
// Failures: the Hub consumes the topics through a watermill Router. An event
// it cannot push (its session's members cannot be resolved, its payload
// cannot be decoded, handling it panics) fails before anything is pushed; it
// is retried a few times with a short backoff (middleware.Retry), then
// published to the dead-letter topic, "tellyou.push.deadletter", with the
// reason in its metadata (middleware.PoisonQueue), logged, counted in
// tellyou_dead_letters_total, and acked: the other sessions wait only for its
// retries. Serve keeps dead letters in PostgreSQL (`tellyou deadletters` lists
// them). Its members lose a push, never a message: sync and the HTTP pull
// read the log's projections.
package push
