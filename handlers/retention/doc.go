// Package retention expires the messages of sessions past their retention
// and shreds the content keys that covered them.
//
// A session's retention is its own setting (SessionSettingsChanged, set by
// PATCH /v1/sessions/{id}) or the server's default (TELLYOU_RETENTION, off
// unless set). Every sweep interval one node, the holder of a lease, asks the
// read models which sessions have messages older than their cutoff (now less
// the retention), appends MessagesExpired through the expire command (the
// projections then drop those messages from history, inbox, unread counts
// and search, seq numbering untouched) and asks the ContentShredder to
// delete the session's period keys whose whole UTC day lies behind the
// cutoff, so the ciphertext left in the log can no longer be read.
package retention
