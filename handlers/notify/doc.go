// Package notify delivers offline notifications to a push gateway (Gorush,
// Matrix's Sygnal, or a service of the operator's own) over a signed webhook.
//
// A Trigger follows the committed log under a lease (one node at a time)
// and, for each message, writes a notification for every member of its
// session but the sender who has not muted the session and has no
// connection on any node, in one transaction with its checkpoint.
//
// A notification is written to a durable outbox in PostgreSQL (by the
// Trigger, or Enqueue), at most once per (user, message), and a Sender POSTs
// it to the configured URL, signed by the Standard Webhooks convention
// (webhook-id, webhook-timestamp, webhook-signature). A 2xx answer removes
// it; anything else, a transport error or a timeout is retried with
// exponential backoff, and after Config.MaxAttempts attempts the
// notification moves to the dead-letter table with its last error.
//
// The body carries no message content: the gateway is a third party, and
// what it forwards reaches Apple's and Google's push services. The client
// fetches the message itself, by session and seq, once woken.
//
// Delivery is at least once: the webhook-id is the same for every attempt
// of a notification (and for a notification of the same user and message
// enqueued again after it was delivered), so a receiver dedupes on it.
package notify
