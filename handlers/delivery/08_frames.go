package delivery

import (
	"encoding/json"
	"fmt"

	"github.com/tellyou/tellyou/events"
	"github.com/tellyou/tellyou/handlers/transport/wire"
	"github.com/tellyou/tellyou/readmodels"
)

// messageFrame encodes the push of a new message.
func messageFrame(m events.MessageSent) ([]byte, error) {
	ext := m.Ext
	if len(ext) == 0 || m.Erased {
		ext = nil
	}
	if m.Erased { // its key was shredded: pushed in the erased shape
		m.Content = ""
	}
	return encodeFrame(wire.MessageFrame{Type: wire.TypeMessage, Message: readmodels.Message{
		MessageID: m.MessageID, SessionID: m.SessionID, Seq: m.Seq, SenderID: m.SenderID,
		MessageType: m.MessageType, Content: m.Content, Ext: ext, ClientMessageID: m.ClientMessageID,
		ClientTimestamp: m.ClientTimestamp, ServerTimestamp: m.ServerTimestamp, AdjustedTimestamp: m.AdjustedTimestamp,
		ReplyTo: m.ReplyTo, Erased: m.Erased,
	}})
}

// erasedOr returns content, or "" when it was erased.
func erasedOr(content string, erased bool) string {
	if erased {
		return ""
	}
	return content
}

// encodeFrame encodes a server frame once, for every connection it goes to.
func encodeFrame(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encode frame: %w", err)
	}
	return b, nil
}
