package crashtest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"time"

	"github.com/tellyou/tellyou/events"
)

// auditorUser reads raw events; it is no member of anything.
const auditorUser = "auditor"

// historyPage is the answer of GET /v1/sessions/{id}/messages.
type historyPage struct {
	Messages []struct {
		MessageID         string          `json:"messageId"`
		SessionID         string          `json:"sessionId"`
		Seq               int64           `json:"seq"`
		SenderID          string          `json:"senderId"`
		MessageType       int             `json:"messageType"`
		Content           string          `json:"content"`
		Ext               json.RawMessage `json:"ext"`
		ClientMessageID   string          `json:"clientMessageId"`
		ClientTimestamp   int64           `json:"clientTimestamp"`
		ServerTimestamp   int64           `json:"serverTimestamp"`
		AdjustedTimestamp int64           `json:"adjustedTimestamp"`
		Recalled          bool            `json:"recalled"`
	} `json:"messages"`
	LastSeq int64 `json:"lastSeq"`
	HasMore bool  `json:"hasMore"`
}

func messagesPath(sessionID string, afterSeq int64, limit int) string {
	return fmt.Sprintf("/v1/sessions/%s/messages?afterSeq=%d&limit=%d", url.PathEscape(sessionID), afterSeq, limit)
}

// waitCaughtUp waits until the server is ready, every projection's
// checkpoint has reached the head of the log, and the history of every
// session, pulled over HTTP, ends at the last seq of the log.
func waitCaughtUp(ctx context.Context, b *testbed, logs map[string]*sessionLog) error {
	var last string
	for {
		last = caughtUp(ctx, b, logs)
		if last == "" {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("read models did not catch up with the log: %s", last)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// caughtUp returns why the read models are not caught up, or "".
func caughtUp(ctx context.Context, b *testbed, logs map[string]*sessionLog) string {
	readyCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	err := b.srv.waitReady(readyCtx)
	cancel()
	if err != nil {
		return err.Error()
	}
	var head int64
	if err := b.db.QueryRow(ctx, `SELECT coalesce(max(position), 0) FROM tellyou_events`).Scan(&head); err != nil {
		return err.Error()
	}
	for _, name := range []string{"history", "sessions"} {
		var pos int64
		if err := b.db.QueryRow(ctx, `SELECT position FROM rm_checkpoints WHERE name = $1`, name).Scan(&pos); err != nil {
			return fmt.Sprintf("checkpoint of %s: %v", name, err)
		}
		if pos < head {
			return fmt.Sprintf("projection %s at %d, log head %d", name, pos, head)
		}
	}
	for _, id := range sortedKeys(logs) {
		s := logs[id]
		n := int64(len(s.messages))
		var page historyPage
		if err := b.do(ctx, "GET", messagesPath(id, max(n-1, 0), 1), nil, &page, s.members[0]); err != nil {
			return err.Error()
		}
		if page.LastSeq != n {
			return fmt.Sprintf("session %s: history lastSeq %d, log %d", id, page.LastSeq, n)
		}
	}
	return ""
}

// checkPulls pulls the whole history of every session as each of its members,
// paging forward with afterSeq, and compares it with the log.
func checkPulls(ctx context.Context, b *testbed, logs map[string]*sessionLog) ([]string, int, error) {
	var problems []string
	pulled := 0
	for _, id := range sortedKeys(logs) {
		s := logs[id]
		for _, member := range s.members {
			var got []events.MessageSent
			var lastSeq int64
			for after := int64(0); ; {
				var page historyPage
				if err := b.do(ctx, "GET", messagesPath(id, after, 200), nil, &page, member); err != nil {
					return problems, pulled, err
				}
				for _, m := range page.Messages {
					if m.Recalled || m.SessionID != id {
						problems = append(problems, fmt.Sprintf("%s pulls session %s seq %d as recalled=%v in session %s", member, id, m.Seq, m.Recalled, m.SessionID))
					}
					got = append(got, events.MessageSent{SessionID: m.SessionID, MessageID: m.MessageID, Seq: m.Seq, SenderID: m.SenderID,
						MessageType: m.MessageType, Content: m.Content, Ext: m.Ext, ClientMessageID: m.ClientMessageID,
						ClientTimestamp: m.ClientTimestamp, ServerTimestamp: m.ServerTimestamp, AdjustedTimestamp: m.AdjustedTimestamp})
				}
				lastSeq = page.LastSeq
				if !page.HasMore {
					break
				}
				if len(page.Messages) == 0 {
					problems = append(problems, fmt.Sprintf("%s pulls session %s after seq %d: hasMore with no messages", member, id, after))
					break
				}
				after = page.Messages[len(page.Messages)-1].Seq
			}
			pulled += len(got)
			if lastSeq != int64(len(s.messages)) {
				problems = append(problems, fmt.Sprintf("%s pulls session %s: lastSeq %d, the log has %d messages", member, id, lastSeq, len(s.messages)))
			}
			problems = append(problems, compareMessages(fmt.Sprintf("%s pulls session %s", member, id), got, s.messages)...)
		}
	}
	return problems, pulled, nil
}

// compareMessages reports where got differs from the log's messages, seq by
// seq.
func compareMessages(what string, got, want []events.MessageSent) []string {
	var problems []string
	for i := range max(len(got), len(want)) {
		switch {
		case i >= len(got):
			problems = append(problems, fmt.Sprintf("%s: seq %d (messageId %s) of the log is missing", what, want[i].Seq, want[i].MessageID))
		case i >= len(want):
			problems = append(problems, fmt.Sprintf("%s: seq %d (messageId %s) is not in the log", what, got[i].Seq, got[i].MessageID))
		default:
			g, w := got[i], want[i]
			same := g.Seq == w.Seq && g.MessageID == w.MessageID && g.SenderID == w.SenderID && g.MessageType == w.MessageType &&
				g.Content == w.Content && g.ClientMessageID == w.ClientMessageID && g.ClientTimestamp == w.ClientTimestamp &&
				g.ServerTimestamp == w.ServerTimestamp && g.AdjustedTimestamp == w.AdjustedTimestamp && sameJSON(g.Ext, w.Ext)
			if !same {
				problems = append(problems, fmt.Sprintf("%s: position %d is %+v, the log has %+v", what, i+1, g, w))
			}
		}
		if len(problems) > 5 {
			return append(problems, what+": more differences left out")
		}
	}
	return problems
}

// checkSessionLists compares each user's GET /v1/sessions with the log: the
// same sessions, members and last seqs.
func checkSessionLists(ctx context.Context, b *testbed, logs map[string]*sessionLog, users int) ([]string, error) {
	var problems []string
	for i := range users {
		user := userName(i)
		var list struct {
			Sessions []struct {
				SessionID string   `json:"sessionId"`
				Members   []string `json:"members"`
				LastSeq   int64    `json:"lastSeq"`
			} `json:"sessions"`
		}
		if err := b.do(ctx, "GET", "/v1/sessions", nil, &list, user); err != nil {
			return problems, err
		}
		want := map[string]*sessionLog{}
		for id, s := range logs {
			if slices.Contains(s.members, user) {
				want[id] = s
			}
		}
		seen := map[string]bool{}
		for _, got := range list.Sessions {
			s := want[got.SessionID]
			switch {
			case s == nil:
				problems = append(problems, fmt.Sprintf("%s's session list has %s, which the log does not give them", user, got.SessionID))
			case seen[got.SessionID]:
				problems = append(problems, fmt.Sprintf("%s's session list has %s twice", user, got.SessionID))
			case got.LastSeq != int64(len(s.messages)) || !slices.Equal(got.Members, s.members):
				problems = append(problems, fmt.Sprintf("%s's session list: %s has lastSeq %d members %v; the log: %d and %v",
					user, got.SessionID, got.LastSeq, got.Members, len(s.messages), s.members))
			}
			seen[got.SessionID] = true
		}
		for id := range want {
			if !seen[id] {
				problems = append(problems, fmt.Sprintf("%s's session list lacks %s", user, id))
			}
		}
	}
	return problems, nil
}

// auditEvent is one event of the audit endpoint and of `tellyou audit`.
type auditEvent struct {
	StreamID       string          `json:"streamId"`
	Version        int64           `json:"version"`
	GlobalPosition int64           `json:"globalPosition"`
	Type           string          `json:"type"`
	Data           json.RawMessage `json:"data"`
	Metadata       json.RawMessage `json:"metadata"`
}

// checkAudit reads every session's events through the audit endpoint, as an
// auditor, and compares them with the log.
func checkAudit(ctx context.Context, b *testbed, logs map[string]*sessionLog) ([]string, error) {
	var problems []string
	for _, id := range sortedKeys(logs) {
		var got []auditEvent
		for from := int64(1); ; {
			var page struct {
				Events []auditEvent `json:"events"`
			}
			path := fmt.Sprintf("/v1/audit/sessions/%s/events?fromVersion=%d&limit=500", url.PathEscape(id), from)
			if err := b.do(ctx, "GET", path, nil, &page, auditorUser, "auditor"); err != nil {
				return problems, err
			}
			got = append(got, page.Events...)
			if len(page.Events) < 500 {
				break
			}
			from = page.Events[len(page.Events)-1].Version + 1
		}
		problems = append(problems, compareEvents("audit endpoint, session "+id, got, logs[id].events)...)
	}
	return problems, nil
}

// compareEvents reports where audited events differ from the log's.
func compareEvents(what string, got []auditEvent, want []loggedEvent) []string {
	if len(got) != len(want) {
		return []string{fmt.Sprintf("%s: %d events, the log has %d", what, len(got), len(want))}
	}
	for i, g := range got {
		w := want[i]
		if g.StreamID != w.StreamID || g.Version != w.Version || g.GlobalPosition != w.Position || g.Type != w.Type ||
			!sameJSON(g.Data, w.Data) || !sameJSON(g.Metadata, w.Metadata) {
			return []string{fmt.Sprintf("%s: event %d is %+v, the log has %+v", what, i+1, g, w)}
		}
	}
	return nil
}
