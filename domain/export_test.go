package domain

// RetainedMessages reports how many messages the state keeps, how many of
// them its dedup index and its recall index hold, so tests can check that
// memory stays bounded.
func RetainedMessages(s *Session) (queued, dedup, recallable int) {
	return s.recent.len(), len(s.recent.byDedup), len(s.recent.byID)
}

// RetainedMemory is what the state's message history holds on to beyond its
// messages, for tests that check memory is given back.
type RetainedMemory struct {
	// QueueCap is the capacity of the queue of records.
	QueueCap int
	// DedupPeak and RecallPeak are the most entries each index held since its
	// map was made (Go maps keep the memory of their largest size).
	DedupPeak, RecallPeak int
	// Senders is the number of sender names kept, OtherIDs the number of
	// message ids kept as text.
	Senders, OtherIDs int
}

// RetainedMemoryOf reports the state's RetainedMemory.
func RetainedMemoryOf(s *Session) RetainedMemory {
	r := &s.recent
	return RetainedMemory{
		QueueCap:   cap(r.queue),
		DedupPeak:  r.peakDedup,
		RecallPeak: r.peakID,
		Senders:    len(r.senders.names),
		OtherIDs:   len(r.otherIDs),
	}
}

// LiveReactions reports how many reactions the state holds, and on how many
// messages.
func LiveReactions(s *Session) (reactions, messages int) {
	return s.reactions.count(), len(s.reactions.byMessage)
}
