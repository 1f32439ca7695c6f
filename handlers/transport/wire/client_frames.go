package wire

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"unicode/utf8"
)

// Client frame types.
const (
	TypeSend   = "send"
	TypeAck    = "ack"
	TypeRecall = "recall"
	TypeSync   = "sync"
	TypeTyping = "typing"
	TypeEdit   = "edit"
	TypeReact  = "react"
)

// MaxFrameIDLen bounds a client frame's id, in characters.
const MaxFrameIDLen = 64

// MaxClientMessageIDLen bounds a send's clientMessageId, in characters.
const MaxClientMessageIDLen = 64

// Sync limits.
const (
	DefaultSyncLimit = 100
	MaxSyncLimit     = 500
)

// ClientFrame is one decoded client frame. Which fields are set depends on Type;
// Decode checks them. Unknown fields are ignored, as the contract allows.
type ClientFrame struct {
	Type            string          `json:"type"`
	ID              string          `json:"id"`
	SessionID       string          `json:"sessionId"`
	ToUserID        string          `json:"toUserId"`
	MessageType     *int            `json:"messageType"`
	Content         *string         `json:"content"`
	ClientMessageID string          `json:"clientMessageId"`
	ClientTimestamp *int64          `json:"clientTimestamp"`
	Ext             json.RawMessage `json:"ext"`
	Seq             *int64          `json:"seq"`
	AckType         string          `json:"ackType"`
	MessageID       string          `json:"messageId"`
	AfterSeq        *int64          `json:"afterSeq"`
	Limit           *int            `json:"limit"`
	// ReplyTo is a send's answered message; Emoji and Remove are a react's.
	ReplyTo string `json:"replyTo"`
	Emoji   string `json:"emoji"`
	Remove  bool   `json:"remove"`
}

// Decode parses and checks one client frame. On error the returned frame
// carries only its type and whatever id and clientMessageId could be read
// within their bounds, so the error frame can echo them.
func Decode(data []byte) (ClientFrame, *Error) {
	var f ClientFrame
	if !utf8.Valid(data) {
		return f, BadRequest("frame is not valid UTF-8")
	}
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return f, BadRequest("frame must be a JSON object")
	}
	if err := json.Unmarshal(trimmed, &f); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) {
			return echoable(f), BadRequest(fmt.Sprintf("field %s must be %s", typeErr.Field, describe(typeErr.Type.String())))
		}
		return ClientFrame{}, BadRequest("invalid JSON: " + err.Error())
	}
	if err := f.check(); err != nil {
		return echoable(f), err
	}
	return f, nil
}

// echoable keeps only the fields an error frame echoes, and only when they are
// within bounds: an error frame never carries more of a frame than a valid
// one could.
func echoable(f ClientFrame) ClientFrame {
	out := ClientFrame{Type: f.Type}
	if utf8.RuneCountInString(f.ID) <= MaxFrameIDLen {
		out.ID = f.ID
	}
	if utf8.RuneCountInString(f.ClientMessageID) <= MaxClientMessageIDLen {
		out.ClientMessageID = f.ClientMessageID
	}
	return out
}

func describe(goType string) string {
	switch goType {
	case "string":
		return "a string"
	case "int", "int64":
		return "an integer"
	case "bool":
		return "true or false"
	case "json.RawMessage":
		return "a JSON value"
	default:
		return "of another type (" + goType + ")"
	}
}

func (f *ClientFrame) check() *Error {
	if utf8.RuneCountInString(f.ID) > MaxFrameIDLen {
		return BadRequest(fmt.Sprintf("id is longer than %d characters", MaxFrameIDLen))
	}
	switch f.Type {
	case "":
		return BadRequest("type is required")
	case TypeSend:
		return f.checkSend()
	case TypeAck:
		if err := requireSession(f.SessionID); err != nil {
			return err
		}
		if f.Seq == nil {
			return BadRequest("seq is required")
		}
		if *f.Seq < 0 {
			return BadRequest("seq must not be negative")
		}
		if f.AckType != "received" && f.AckType != "read" {
			return BadRequest(`ackType must be "received" or "read"`)
		}
	case TypeRecall:
		return requireMessage(f.SessionID, f.MessageID)
	case TypeSync:
		if err := requireSession(f.SessionID); err != nil {
			return err
		}
		if f.AfterSeq != nil && *f.AfterSeq < 0 {
			return BadRequest("afterSeq must not be negative")
		}
		if f.Limit != nil && (*f.Limit < 1 || *f.Limit > MaxSyncLimit) {
			return BadRequest(fmt.Sprintf("limit must be between 1 and %d", MaxSyncLimit))
		}
	case TypeTyping:
		return requireSession(f.SessionID)
	case TypeEdit:
		if err := requireMessage(f.SessionID, f.MessageID); err != nil {
			return err
		}
		if f.Content == nil {
			return BadRequest("content is required")
		}
	case TypeReact:
		if err := requireMessage(f.SessionID, f.MessageID); err != nil {
			return err
		}
		if f.Emoji == "" {
			return BadRequest("emoji is required")
		}
	default:
		return BadRequest(fmt.Sprintf("unknown frame type %q", truncate(f.Type, 32)))
	}
	return nil
}

func (f *ClientFrame) checkSend() *Error {
	switch {
	case f.SessionID != "" && f.ToUserID != "":
		return BadRequest("give sessionId or toUserId, not both")
	case f.SessionID == "" && f.ToUserID == "":
		return BadRequest("sessionId or toUserId is required")
	case f.ClientMessageID == "":
		return BadRequest("clientMessageId is required")
	case utf8.RuneCountInString(f.ClientMessageID) > MaxClientMessageIDLen:
		return BadRequest(fmt.Sprintf("clientMessageId is longer than %d characters", MaxClientMessageIDLen))
	case f.MessageType == nil:
		return BadRequest("messageType is required")
	case f.Content == nil:
		return BadRequest("content is required")
	}
	if ext := bytes.TrimSpace(f.Ext); len(ext) > 0 && !bytes.Equal(ext, []byte("null")) {
		if ext[0] != '{' {
			return BadRequest("ext must be a JSON object")
		}
		f.Ext = ext
	} else {
		f.Ext = nil
	}
	return nil
}

func requireSession(id string) *Error {
	if id == "" {
		return BadRequest("sessionId is required")
	}
	return nil
}

// requireMessage checks the target of a frame that names a message.
func requireMessage(sessionID, messageID string) *Error {
	if err := requireSession(sessionID); err != nil {
		return err
	}
	if messageID == "" {
		return BadRequest("messageId is required")
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
