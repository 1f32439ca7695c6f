package domain

// HistoryMessage is what the history read model holds of a message. A
// decision by message id that answered ErrUnknownMessage (the state keeps
// only recent messages) is taken again with the message the caller found in
// the session's history: the state's rules then apply to it as to a recent
// one.
type HistoryMessage struct {
	MessageID       string
	Seq             int64
	SenderID        string
	ServerTimestamp int64
	Recalled        bool
}

// messageByID finds a message for a decision: in the state, or else in
// found, when found is the message with that id (nil: none).
func (s *Session) messageByID(id string, found *HistoryMessage) (recentMessage, bool) {
	if m, ok := s.recent.message(id); ok {
		return m, true
	}
	if found == nil || found.MessageID != id {
		return recentMessage{}, false
	}
	return recentMessage{seq: found.Seq, sender: found.SenderID, serverTs: found.ServerTimestamp, recalled: found.Recalled}, true
}
