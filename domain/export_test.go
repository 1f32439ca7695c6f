package domain

// RetainedMessages reports how many messages the state keeps for recall and
// dedup, and the sizes of its two indexes, so tests can check that memory
// stays bounded.
func RetainedMessages(s *Session) (queued, byID, byClientID int) {
	return s.recent.len(), len(s.recent.byID), len(s.recent.byClientID)
}
