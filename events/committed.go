package events

// Committed is an append as its appender knows it once Append has returned:
// the events it wrote, both as stored and as the values they were encoded
// from, and where they landed. The fast path of delivery takes it as it is,
// without reading the log back or decoding anything.
type Committed struct {
	StreamID string
	// FirstVersion is the stream version of Events[0]; the others follow.
	FirstVersion int64
	// Position is the global position of the last event. Prev is the
	// global position of the stream's event before the first (0 when the
	// append starts the stream): every event at or below Prev that belongs
	// to the stream was appended before this one.
	Position, Prev Position
	// Events are the events as appended, Envelopes the same events as
	// values, index for index. Neither may be changed once handed over.
	Events    []EventData
	Envelopes []Envelope
}
