package eventview

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/tellyou/tellyou/events"
	"github.com/tellyou/tellyou/events/sealing"
)

// Event is one raw event as auditors and analytics consumers see it:
//
//	{"streamId":"d:ann:bob","version":3,"globalPosition":1048577,"type":"MessageSent",
//	 "data":{...},"metadata":{"eventId":...,"correlationId":...,"causationId":...,
//	 "actor":...,"occurredAt":...,"schemaVersion":1}}
//
// data and metadata are the event's JSON objects as they were appended.
type Event struct {
	StreamID       string          `json:"streamId"`
	Version        int64           `json:"version"`
	GlobalPosition int64           `json:"globalPosition"`
	Type           string          `json:"type"`
	Data           json.RawMessage `json:"data"`
	Metadata       json.RawMessage `json:"metadata"`
	// Opened is set in the auditors' views of sealed content (see
	// NewOpened), never in the analytics feed.
	Opened *Opened `json:"opened,omitempty"`
}

// New renders a recorded event: data and metadata byte for byte as they were
// appended.
func New(r events.RecordedEvent) Event {
	return Event{
		StreamID: r.StreamID, Version: r.Version, GlobalPosition: int64(r.Position),
		Type: r.Type, Data: r.Data, Metadata: r.Metadata,
	}
}

// Marshal returns the JSON of a recorded event as the feed's `data:` line
// carries it: compact (one line, no trailing newline), with <, > and & left
// as they are rather than escaped for HTML.
func Marshal(r events.RecordedEvent) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(New(r)); err != nil {
		return nil, fmt.Errorf("render %s@%d at position %d: %w", r.StreamID, r.Version, r.Position, err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// Unmarshal reads back what Marshal wrote. It refuses input that is not one
// JSON object with a stream id, a positive version, a type, and data and
// metadata objects.
func Unmarshal(b []byte) (Event, error) {
	var e Event
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&e); err != nil {
		return Event{}, fmt.Errorf("read event view: %w", err)
	}
	if dec.More() {
		return Event{}, errors.New("read event view: trailing data after the object")
	}
	switch {
	case e.StreamID == "":
		return Event{}, errors.New("read event view: no streamId")
	case e.Version < 1:
		return Event{}, fmt.Errorf("read event view of %s: version %d, want 1 or more", e.StreamID, e.Version)
	case e.Type == "":
		return Event{}, fmt.Errorf("read event view of %s@%d: no type", e.StreamID, e.Version)
	case !isObject(e.Data):
		return Event{}, fmt.Errorf("read event view of %s@%d: data is not a JSON object", e.StreamID, e.Version)
	case !isObject(e.Metadata):
		return Event{}, fmt.Errorf("read event view of %s@%d: metadata is not a JSON object", e.StreamID, e.Version)
	}
	return e, nil
}

// Recorded returns the recorded event e shows. Its EventID is not part of the
// view's fields: it is read from the metadata, and stays zero when the
// metadata has no valid eventId.
func (e Event) Recorded() events.RecordedEvent {
	r := events.RecordedEvent{
		StreamID: e.StreamID, Version: e.Version, Position: events.Position(e.GlobalPosition),
		Type: e.Type, Data: e.Data, Metadata: e.Metadata,
	}
	var meta events.Metadata
	if err := json.Unmarshal(e.Metadata, &meta); err == nil {
		r.EventID = meta.EventID
	}
	return r
}

func isObject(raw json.RawMessage) bool {
	raw = bytes.TrimLeft(raw, " \t\r\n")
	return len(raw) > 0 && raw[0] == '{'
}

// Opened is what an auditor's view adds to an event whose content is sealed:
// the outcome of opening it. Status is "content" (Content holds it),
// "erased" (its key was shredded: the user was erased or its retention
// passed) or "forged" (it failed authentication). The analytics feed never
// carries it: content stays sealed there.
type Opened struct {
	Status  string `json:"status"`
	Content string `json:"content,omitempty"`
}

// Opener opens the sealed content of a decoded payload
// (events/sealing.Sealer).
type Opener interface {
	Open(ctx context.Context, p events.Payload) (events.Payload, error)
}

// NewOpened is New with Opened set when the event's content is sealed; o nil
// or an event without sealed content gives New's view. Only a failure to
// reach the keys is an error: forged content is shown as forged.
func NewOpened(ctx context.Context, r events.RecordedEvent, o Opener) (Event, error) {
	e := New(r)
	if o == nil {
		return e, nil
	}
	env, err := events.Decode(r)
	if err != nil || events.SchemaVersionOf(env.Payload) < 2 {
		return e, nil
	}
	p, err := o.Open(ctx, env.Payload)
	switch {
	case errors.Is(err, sealing.ErrForged):
		e.Opened = &Opened{Status: "forged"}
		return e, nil
	case err != nil:
		return Event{}, fmt.Errorf("open %s@%d for the audit: %w", r.StreamID, r.Version, err)
	}
	switch p := p.(type) {
	case events.MessageSent:
		e.Opened = opened(p.Content, p.Erased)
	case events.MessageEdited:
		e.Opened = opened(p.Content, p.Erased)
	}
	return e, nil
}

func opened(content string, erased bool) *Opened {
	if erased {
		return &Opened{Status: "erased"}
	}
	return &Opened{Status: "content", Content: content}
}
