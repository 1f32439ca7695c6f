package wire

// TypeExpired is the type of the frame that tells a session's members that
// its messages up to a seq passed their retention.
const TypeExpired = "expired"

// ExpiredFrame pushes an expiry: a client drops the session's messages up
// to UpToSeq from what it shows and keeps. It is not tracked for
// redelivery: a client that missed it finds the messages gone at its next
// history page or sync.
type ExpiredFrame struct {
	Type      string `json:"type"`
	SessionID string `json:"sessionId"`
	UpToSeq   int64  `json:"upToSeq"`
}
