package crashtest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/coder/websocket"
)

// serverFrame is any frame the server sends; Message is a string in an error
// and an object in a push.
type serverFrame struct {
	Type              string          `json:"type"`
	ID                string          `json:"id"`
	ClientMessageID   string          `json:"clientMessageId"`
	SessionID         string          `json:"sessionId"`
	MessageID         string          `json:"messageId"`
	Seq               int64           `json:"seq"`
	ServerTimestamp   int64           `json:"serverTimestamp"`
	AdjustedTimestamp int64           `json:"adjustedTimestamp"`
	Duplicate         bool            `json:"duplicate"`
	Code              string          `json:"code"`
	Message           json.RawMessage `json:"message"`
}

// receipt is an ack frame the reader asks the writer to send.
type receipt struct {
	sessionID string
	seq       int64
	ackType   string
}

// sendFrame is a client's send frame.
type sendFrame struct {
	Type            string          `json:"type"`
	ID              string          `json:"id"`
	SessionID       string          `json:"sessionId,omitempty"`
	ToUserID        string          `json:"toUserId,omitempty"`
	MessageType     int             `json:"messageType"`
	Content         string          `json:"content"`
	ClientMessageID string          `json:"clientMessageId"`
	ClientTimestamp int64           `json:"clientTimestamp"`
	Ext             json.RawMessage `json:"ext,omitempty"`
}

func (c *chatClient) writeSend(ctx context.Context, ws *websocket.Conn, id string, o outgoing) error {
	m := o.msg
	data, err := json.Marshal(sendFrame{Type: "send", ID: id, SessionID: m.groupID, ToUserID: m.toUserID, MessageType: 1,
		Content: m.content, ClientMessageID: m.clientMessageID, ClientTimestamp: m.clientTimestamp, Ext: m.ext})
	if err != nil {
		return err
	}
	c.stats.sendFrames++
	if !o.probe {
		if m.written > 0 {
			c.stats.resent++
		}
		// Counted before writing: a failed write may still have reached the
		// server.
		m.written++
	}
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	return ws.Write(wctx, websocket.MessageText, data)
}

// writeReceipt sends an ack frame; a failure shows on the read side.
func (c *chatClient) writeReceipt(ctx context.Context, ws *websocket.Conn, r receipt) {
	data, err := json.Marshal(map[string]any{"type": "ack", "id": c.frameID("a"), "sessionId": r.sessionID, "seq": r.seq, "ackType": r.ackType})
	if err != nil {
		return
	}
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if ws.Write(wctx, websocket.MessageText, data) == nil {
		c.stats.receiptAcks++
	}
}

// read forwards answers (frames with an id) to the writer until the
// connection ends. Pushed messages are counted, and now and then
// acknowledged as received or read, so that the log holds watermark events
// too.
func (c *chatClient) read(ctx context.Context, ws *websocket.Conn, answers chan<- serverFrame, receipts chan<- receipt) (int, error) {
	pushes := 0
	latest := map[string]int64{}
	for {
		_, data, err := ws.Read(ctx)
		if err != nil {
			return pushes, err
		}
		var f serverFrame
		if err := json.Unmarshal(data, &f); err != nil {
			c.problems.add("%s: undecodable frame %q: %v", c.user, data, err)
			continue
		}
		switch {
		case f.Type == "message":
			var m struct {
				SessionID string `json:"sessionId"`
				Seq       int64  `json:"seq"`
			}
			if err := json.Unmarshal(f.Message, &m); err != nil || m.SessionID == "" || m.Seq < 1 {
				c.problems.add("%s: push without a session and seq: %s", c.user, data)
				continue
			}
			pushes++
			latest[m.SessionID] = max(latest[m.SessionID], m.Seq)
			if pushes%20 == 0 {
				ackType := "received"
				if pushes%60 == 0 {
					ackType = "read"
				}
				select {
				case receipts <- receipt{sessionID: m.SessionID, seq: latest[m.SessionID], ackType: ackType}:
				default:
				}
			}
		case f.ID != "" || f.Type == "error" || f.Type == "sendAck":
			answers <- f
		}
	}
}

// handle takes an answer to an in-flight frame. It returns an error only for
// a protocol violation.
func (c *chatClient) handle(f serverFrame, inflight map[string]outgoing) error {
	if len(f.ID) > 0 && f.ID[0] == 'a' {
		if f.Type == "error" {
			c.stats.receiptErrs[f.Code]++
		}
		return nil
	}
	o, ok := inflight[f.ID]
	if !ok {
		return fmt.Errorf("answer %+v to no frame in flight", f)
	}
	delete(inflight, f.ID)
	m := o.msg
	switch f.Type {
	case "sendAck":
		return c.acknowledged(o, f)
	case "error":
		var text string
		_ = json.Unmarshal(f.Message, &text)
		if f.ClientMessageID != m.clientMessageID {
			return fmt.Errorf("error answer to send %s (frame %s) echoes clientMessageId %q", m.clientMessageID, f.ID, f.ClientMessageID)
		}
		c.stats.sendErrors[f.Code]++
		switch f.Code {
		case "unavailable", "internal", "conflict", "rate_limited", "overloaded":
			// Retried with the same clientMessageId, as a client would.
			c.queue = append(c.queue, o)
			return nil
		}
		return fmt.Errorf("send %s refused with %s: %s", m.clientMessageID, f.Code, text)
	default:
		return fmt.Errorf("send %s (frame %s) answered with a %q frame", m.clientMessageID, f.ID, f.Type)
	}
}

// acknowledged records a sendAck and checks it against the message and any
// earlier ack of it.
func (c *chatClient) acknowledged(o outgoing, f serverFrame) error {
	m := o.msg
	got := sendAck{SessionID: f.SessionID, MessageID: f.MessageID, Seq: f.Seq, ServerTimestamp: f.ServerTimestamp,
		AdjustedTimestamp: f.AdjustedTimestamp, Duplicate: f.Duplicate}
	if f.ClientMessageID != m.clientMessageID || f.SessionID != m.sessionID || f.Seq < 1 || f.MessageID == "" {
		return fmt.Errorf("send %s to %s answered by sendAck %+v (clientMessageId %q)", m.clientMessageID, m.sessionID, got, f.ClientMessageID)
	}
	if m.ack != nil {
		want := *m.ack
		want.Duplicate = true
		if got != want {
			return fmt.Errorf("resend of acked %s: first ack %+v, now %+v; want the original seq, messageId and timestamps with duplicate:true", m.clientMessageID, *m.ack, got)
		}
		c.stats.probes++
		return nil
	}
	if got.Duplicate && m.written == 1 {
		return fmt.Errorf("first send of %s answered duplicate:true (%+v)", m.clientMessageID, got)
	}
	m.ack = &got
	c.stats.acked++
	if got.Duplicate {
		c.stats.duplicates++
	}
	c.progress.Add(1)
	return nil
}
