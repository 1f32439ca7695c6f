package crashtest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tellyou/tellyou/events"
	"github.com/tellyou/tellyou/events/keystore"
	"github.com/tellyou/tellyou/events/sealing"
)

// loggedEvent is one row of tellyou_events.
type loggedEvent struct {
	StreamID string
	Version  int64
	Position int64
	Type     string
	Data     json.RawMessage
	Metadata json.RawMessage
	// Opened is Data with sealed content opened (the log holds message
	// content sealed); nil for events without sealed content.
	Opened json.RawMessage
}

// clear is the event's payload with its content in clear.
func (e loggedEvent) clear() json.RawMessage {
	if e.Opened != nil {
		return e.Opened
	}
	return e.Data
}

// openSealed fills in Opened for the events with sealed content, with the
// keys and the master key the servers generated in the database.
func openSealed(ctx context.Context, db *pgxpool.Pool, sessions map[string]*sessionLog) error {
	master, err := keystore.LoadOrCreateMaster(ctx, db)
	if err != nil {
		return err
	}
	keys, err := keystore.New(ctx, db, keystore.Config{Master: master})
	if err != nil {
		return err
	}
	sealer, err := sealing.NewSealer(keys)
	if err != nil {
		return err
	}
	for _, s := range sessions {
		for i, e := range s.events {
			if e.Type != events.TypeMessageSent && e.Type != events.TypeMessageEdited {
				continue
			}
			env, err := events.Decode(events.RecordedEvent{StreamID: e.StreamID, Version: e.Version, Type: e.Type, Data: e.Data, Metadata: e.Metadata})
			if err != nil || events.SchemaVersionOf(env.Payload) < 2 {
				continue // checkLog reports what cannot be decoded
			}
			p, err := sealer.Open(ctx, env.Payload)
			if err != nil {
				return fmt.Errorf("open %s@%d: %w", e.StreamID, e.Version, err)
			}
			if s.events[i].Opened, err = json.Marshal(p); err != nil {
				return err
			}
		}
	}
	return nil
}

// sessionLog is one session's stream as the log holds it.
type sessionLog struct {
	id       string
	version  int64 // tellyou_streams.version
	events   []loggedEvent
	members  []string // current members, in byte order
	messages []events.MessageSent
}

// readLog reads the whole log straight from the database, by session.
func readLog(ctx context.Context, db *pgxpool.Pool) (map[string]*sessionLog, error) {
	sessions := map[string]*sessionLog{}
	rows, err := db.Query(ctx, `SELECT stream_id, version, position, type, data::text, metadata::text
		FROM tellyou_events ORDER BY stream_id, version`)
	if err != nil {
		return nil, fmt.Errorf("read tellyou_events: %w", err)
	}
	for rows.Next() {
		var e loggedEvent
		var data, meta string
		if err := rows.Scan(&e.StreamID, &e.Version, &e.Position, &e.Type, &data, &meta); err != nil {
			rows.Close()
			return nil, fmt.Errorf("read tellyou_events: %w", err)
		}
		e.Data, e.Metadata = json.RawMessage(data), json.RawMessage(meta)
		s := sessions[e.StreamID]
		if s == nil {
			s = &sessionLog{id: e.StreamID}
			sessions[e.StreamID] = s
		}
		s.events = append(s.events, e)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read tellyou_events: %w", err)
	}
	rows, err = db.Query(ctx, `SELECT stream_id, version FROM tellyou_streams`)
	if err != nil {
		return nil, fmt.Errorf("read tellyou_streams: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var v int64
		if err := rows.Scan(&id, &v); err != nil {
			return nil, fmt.Errorf("read tellyou_streams: %w", err)
		}
		s := sessions[id]
		if s == nil {
			s = &sessionLog{id: id}
			sessions[id] = s
		}
		s.version = v
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read tellyou_streams: %w", err)
	}
	return sessions, openSealed(ctx, db, sessions)
}

// checkLog checks the log on its own and against what the clients planned and
// were acked: every stream's versions are 1..n and match tellyou_streams;
// every session's MessageSent seqs are 1..k in version order; message ids are
// unique; each (sender, clientMessageId) appears exactly once, as planned; and
// every ack names the seq, messageId and timestamps the log holds. It also
// fills in each session's members and messages.
func checkLog(logs map[string]*sessionLog, clients []*chatClient) []string {
	var problems []string
	report := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }

	type senderKey struct{ sender, clientMessageID string }
	planned := map[senderKey]*clientMessage{}
	for _, c := range clients {
		for _, m := range c.msgs {
			planned[senderKey{m.sender, m.clientMessageID}] = m
		}
	}
	logged := map[senderKey]events.MessageSent{}
	messageIDs := map[string]string{} // messageId -> "session seq"

	for _, id := range sortedKeys(logs) {
		s := logs[id]
		if len(s.events) == 0 {
			report("stream %s has version %d in tellyou_streams but no events", id, s.version)
			continue
		}
		if int64(len(s.events)) != s.version {
			report("stream %s: %d events, tellyou_streams says version %d", id, len(s.events), s.version)
		}
		members := map[string]bool{}
		for i, e := range s.events {
			if e.Version != int64(i+1) {
				report("stream %s: event %d of the stream has version %d (a gap or repeat in versions)", id, i+1, e.Version)
			}
			switch e.Type {
			case events.TypeSessionCreated:
				var p events.SessionCreated
				if err := json.Unmarshal(e.Data, &p); err != nil || i != 0 {
					report("stream %s version %d: SessionCreated (%v) not first or undecodable: %s", id, e.Version, err, e.Data)
				}
				for _, m := range p.Members {
					members[m] = true
				}
			case events.TypeMembersAdded:
				var p events.MembersAdded
				_ = json.Unmarshal(e.Data, &p)
				for _, m := range p.Members {
					members[m] = true
				}
			case events.TypeMembersRemoved:
				var p events.MembersRemoved
				_ = json.Unmarshal(e.Data, &p)
				for _, m := range p.Members {
					delete(members, m)
				}
			case events.TypeMessageSent:
				var p events.MessageSent
				if err := json.Unmarshal(e.clear(), &p); err != nil {
					report("stream %s version %d: undecodable MessageSent %s: %v", id, e.Version, e.Data, err)
					continue
				}
				want := int64(len(s.messages) + 1)
				if p.Seq != want {
					report("session %s: message at version %d has seq %d, want %d (a gap or repeat in seqs)", id, e.Version, p.Seq, want)
				}
				if p.SessionID != id {
					report("session %s: message seq %d names session %s", id, p.Seq, p.SessionID)
				}
				if where, dup := messageIDs[p.MessageID]; dup {
					report("messageId %s is both %s and session %s seq %d", p.MessageID, where, id, p.Seq)
				}
				messageIDs[p.MessageID] = fmt.Sprintf("session %s seq %d", id, p.Seq)
				k := senderKey{p.SenderID, p.ClientMessageID}
				if first, dup := logged[k]; dup {
					report("%s's clientMessageId %s is in the log twice: session %s seq %d and session %s seq %d (a resend made a duplicate)",
						p.SenderID, p.ClientMessageID, first.SessionID, first.Seq, id, p.Seq)
				} else {
					logged[k] = p
				}
				s.messages = append(s.messages, p)
			}
		}
		s.members = sortedKeys(members)
	}

	for k, p := range logged {
		m := planned[k]
		if m == nil {
			report("session %s seq %d: %s's clientMessageId %s was never sent by the test", p.SessionID, p.Seq, k.sender, k.clientMessageID)
			continue
		}
		if p.SessionID != m.sessionID || p.Content != m.content || p.ClientTimestamp != m.clientTimestamp || p.MessageType != 1 || !sameJSON(p.Ext, m.ext) {
			report("%s %s: the log holds session %s content %q ext %s clientTimestamp %d, the client sent session %s content %q ext %s clientTimestamp %d",
				k.sender, k.clientMessageID, p.SessionID, p.Content, p.Ext, p.ClientTimestamp, m.sessionID, m.content, m.ext, m.clientTimestamp)
		}
	}
	for _, c := range clients {
		for _, m := range c.msgs {
			p, ok := logged[senderKey{m.sender, m.clientMessageID}]
			switch {
			case m.ack == nil:
				report("%s %s was never acked", m.sender, m.clientMessageID)
			case !ok:
				report("LOST: %s %s was acked as session %s seq %d messageId %s, but is not in the log", m.sender, m.clientMessageID, m.ack.SessionID, m.ack.Seq, m.ack.MessageID)
			case p.SessionID != m.ack.SessionID || p.Seq != m.ack.Seq || p.MessageID != m.ack.MessageID:
				report("%s %s was acked as session %s seq %d messageId %s; the log holds session %s seq %d messageId %s",
					m.sender, m.clientMessageID, m.ack.SessionID, m.ack.Seq, m.ack.MessageID, p.SessionID, p.Seq, p.MessageID)
			case p.ServerTimestamp != m.ack.ServerTimestamp || p.AdjustedTimestamp != m.ack.AdjustedTimestamp:
				report("%s %s: ack timestamps server %d adjusted %d, log %d and %d",
					m.sender, m.clientMessageID, m.ack.ServerTimestamp, m.ack.AdjustedTimestamp, p.ServerTimestamp, p.AdjustedTimestamp)
			}
		}
	}
	return problems
}

// sameJSON compares two JSON values byte for byte after compaction; empty
// and null are the same.
func sameJSON(a, b json.RawMessage) bool {
	norm := func(v json.RawMessage) string {
		var buf bytes.Buffer
		if err := json.Compact(&buf, v); err != nil {
			return string(v)
		}
		if s := buf.String(); s != "null" {
			return s
		}
		return ""
	}
	return norm(a) == norm(b)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
