// Package feedbus publishes the global event log on a message-broker topic,
// the analytics feed: every event, in global order, as the JSON the auditors'
// feed (GET /v1/feed) shows, at least once.
//
// A Relay follows the log from a checkpoint it keeps in PostgreSQL and
// publishes each event as one watermill message on a topic (default
// DefaultTopic). Its message UUID is the event id, which NATSFeed sends as the
// Nats-Msg-Id header, so the JetStream stream drops the copies that a
// restarted relay publishes again within its duplicate window. One relay at a
// time publishes, across every process sharing the database: it holds a lease,
// a PostgreSQL session advisory lock.
//
// Consumers read the feed with NewNATSSubscriber, whose durable consumer
// resumes where it left off; see docs/analytics.md and examples/analytics.
package feedbus
