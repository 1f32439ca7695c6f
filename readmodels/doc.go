// Package readmodels answers every pull of the wire protocol (sessions list,
// history pages, offline inbox, unread counts) from PostgreSQL tables that
// projections/ builds from the event log and from nothing else.
//
// # Tables
//
//   - rm_messages: one row per message (history projection). Content longer
//     than CompressContentAbove is stored compressed (ContentCodec, marked by
//     content_encoding); every query returns it as sent, or as last edited
//     (edited_at), with the message it replies to (reply_to).
//   - rm_reactions: one row per current reaction, a user's emoji on a message,
//     in the order reactions were added (history projection). Every query
//     that returns messages returns their reactions in the same statement.
//   - rm_sessions: one row per session, with its last seq and last activity.
//   - rm_members: one row per current member with two watermarks, received_seq
//     and read_seq (sessions projection).
//   - rm_checkpoints: where each projection stands in the global log.
//
// Migrate creates them; the projections own their rows.
//
// # Inbox and unread counts are queries, not fan-out rows
//
// A message costs O(1) row writes whatever the size of its session: one
// rm_messages row and one rm_sessions update. Nobody's inbox or unread counter
// is written. A member's inbox is "messages from other members with seq above
// my received watermark", and their unread count is "messages from other
// members with seq above my read watermark that are not recalled": both are
// range scans of the (session_id, seq) primary key of rm_messages from the
// watermarks of rm_members. With per-recipient rows a message to a 500-member
// group would cost 499 row writes, a recall 499 updates, and an ack would
// touch as many rows as it acknowledges; here an ack moves one watermark. The
// price is paid on read, in proportion to what is pending: counting 10,000
// unread messages scans 10,000 index entries (the primary key includes
// sender_id and recalled, so the count needs no heap access once the pages
// are all-visible).
//
// # Consistency
//
// The read models are eventually consistent: they trail the event log by the
// projection lag (see projections.Lag), typically milliseconds. A client that
// has just received a sendAck may therefore not see its message in a pull made
// at once; sync by seq is what makes that harmless. Each query is one
// statement, so it reads one snapshot: a history page and its lastSeq always
// agree. The history and sessions projections advance independently, so
// answers that combine them (a session's lastSeq and its lastMessage) may
// momentarily be one projection apart; lastMessage is never newer than
// lastSeq.
//
// Every query is one round trip, except Session, which makes a second one only
// to tell an unknown session from one the user is not a member of.
//
// Queries is safe for concurrent use. It never writes.
package readmodels
