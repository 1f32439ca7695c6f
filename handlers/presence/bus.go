package presence

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
)

// Kinds of bus message.
const (
	// kindHello announces a node that just started: the others answer with
	// their snapshots.
	kindHello = "hello"
	// kindChanges carries users who came online on the node or went
	// offline there, numbered by Seq.
	kindChanges = "changes"
	// kindHeartbeat says the node is alive; Seq is its last change's.
	kindHeartbeat = "heartbeat"
	// kindSnapshot carries the node's whole list of users, in parts (First
	// starts it, Last ends it), as of change Seq.
	kindSnapshot = "snapshot"
	// kindWant asks the node Target for its snapshot.
	kindWant = "want"
	// kindBye says the node stops: its users are offline.
	kindBye = "bye"
)

// maxPerMessage bounds the users in one bus message (NATS refuses messages
// over 1 MiB by default; user ids are at most 64 bytes).
const maxPerMessage = 4000

// busMessage is the payload of a presence bus message.
type busMessage struct {
	Kind    string        `json:"kind"`
	Node    string        `json:"node"`
	Seq     uint64        `json:"seq,omitempty"`
	Online  []string      `json:"online,omitempty"`
	Offline []offlineUser `json:"offline,omitempty"`
	Target  string        `json:"target,omitempty"`
	First   bool          `json:"first,omitempty"`
	Last    bool          `json:"last,omitempty"`
}

// offlineUser is a user whose last connection on the node ended at At.
type offlineUser struct {
	UserID string `json:"userId"`
	At     int64  `json:"at"`
}

// publish sends msgs on the bus; presence is ephemeral, so a failure is only
// logged (a node that misses a change asks for a snapshot at the next
// heartbeat).
func (t *Tracker) publish(msgs ...busMessage) {
	if t.cfg.Bus == nil || len(msgs) == 0 {
		return
	}
	out := make([]*message.Message, 0, len(msgs))
	for _, m := range msgs {
		m.Node = t.node
		payload, err := json.Marshal(m)
		if err != nil {
			t.cfg.Logger.Error("presence: cannot encode bus message", "kind", m.Kind, "err", err)
			return
		}
		out = append(out, message.NewMessage(watermill.NewUUID(), payload))
	}
	if err := t.cfg.Bus.Publish(t.cfg.Topic, out...); err != nil {
		t.cfg.Logger.Warn("presence: publishing on the bus failed", "topic", t.cfg.Topic, "err", err)
	}
}

// receive applies the other nodes' messages until ctx ends or the
// subscription does.
func (t *Tracker) receive(ctx context.Context, msgs <-chan *message.Message) {
	for {
		select {
		case <-ctx.Done():
			return
		case m, ok := <-msgs:
			if !ok {
				// The other nodes' news stops here: they will look silent
				// and be expired, their users offline, until a restart.
				t.cfg.Logger.Error("presence: the bus subscription ended; other nodes' presence is no longer heard")
				return
			}
			var b busMessage
			if err := json.Unmarshal(m.Payload, &b); err != nil {
				t.cfg.Logger.Error("presence: dropping an undecodable bus message", "id", m.UUID, "err", err)
			} else if b.Node != t.node && b.Node != "" {
				t.apply(b)
			}
			m.Ack()
		}
	}
}

// apply takes another node's message into the node's view.
func (t *Tracker) apply(b busMessage) {
	now := t.cfg.Now()
	t.mu.Lock()
	defer func() {
		t.mu.Unlock()
		t.signal()
	}()
	n := t.remote[b.Node]
	if b.Kind == kindBye {
		if n != nil {
			t.dropLocked(b.Node, now.UnixMilli())
		}
		return
	}
	if n == nil {
		// A node not heard before: it learns this node's list, and this node
		// asks for its list unless it is sending it.
		n = &remoteNode{users: map[string]struct{}{}, seq: b.Seq}
		t.remote[b.Node] = n
		t.snapshotWanted = true
		if b.Kind == kindHeartbeat || b.Kind == kindChanges {
			t.wants[b.Node] = struct{}{}
		}
	}
	n.heard = now
	switch b.Kind {
	case kindWant:
		if b.Target == t.node {
			t.snapshotWanted = true
		}
	case kindHeartbeat:
		if b.Seq != n.seq {
			t.wants[b.Node] = struct{}{}
		}
	case kindChanges:
		if b.Seq != n.seq+1 {
			t.wants[b.Node] = struct{}{}
		}
		n.seq = b.Seq
		for _, u := range b.Online {
			n.users[u] = struct{}{}
			t.markLocked(u, 0, false)
		}
		for _, o := range b.Offline {
			delete(n.users, o.UserID)
			t.markLocked(o.UserID, o.At, false)
		}
	case kindSnapshot:
		if b.First {
			n.incoming = map[string]struct{}{}
		}
		if n.incoming == nil {
			return // a part whose first part was lost; the next heartbeat asks again
		}
		for _, u := range b.Online {
			n.incoming[u] = struct{}{}
		}
		if !b.Last {
			return
		}
		for u := range n.users {
			if _, ok := n.incoming[u]; !ok {
				t.markLocked(u, now.UnixMilli(), false)
			}
		}
		for u := range n.incoming {
			if _, ok := n.users[u]; !ok {
				t.markLocked(u, 0, false)
			}
		}
		n.users, n.incoming, n.seq = n.incoming, nil, b.Seq
		delete(t.wants, b.Node)
	}
}

// dropLocked forgets a node; its users went offline at offAt, which this node
// stores as well (the node that stopped or died may not have). t.mu is held.
func (t *Tracker) dropLocked(node string, offAt int64) {
	for u := range t.remote[node].users {
		t.markLocked(u, offAt, true)
	}
	delete(t.remote, node)
}

// expire forgets the nodes silent for Expiry: their users go offline at the
// time they were last heard.
func (t *Tracker) expire() {
	now := t.cfg.Now()
	t.mu.Lock()
	var expired []string
	for id, n := range t.remote {
		if now.Sub(n.heard) >= t.cfg.Expiry {
			expired = append(expired, id)
			t.dropLocked(id, n.heard.UnixMilli())
		}
	}
	t.mu.Unlock()
	if len(expired) > 0 {
		t.cfg.Logger.Info("presence: nodes silent too long are gone, their users offline", "nodes", expired,
			"silentFor", t.cfg.Expiry)
		t.signal()
	}
}

// snapshotLocked returns the node's whole list as bus messages. t.mu is held.
func (t *Tracker) snapshotLocked() []busMessage {
	users := make([]string, 0, len(t.announced))
	for u := range t.announced {
		users = append(users, u)
	}
	var out []busMessage
	for part := range slices.Chunk(users, maxPerMessage) {
		out = append(out, busMessage{Kind: kindSnapshot, Seq: t.seq, Online: part})
	}
	if len(out) == 0 {
		out = append(out, busMessage{Kind: kindSnapshot, Seq: t.seq})
	}
	out[0].First, out[len(out)-1].Last = true, true
	return out
}

// subscribe subscribes to the bus, when there is one.
func (t *Tracker) subscribe(ctx context.Context) (<-chan *message.Message, error) {
	if t.cfg.Bus == nil {
		return nil, nil
	}
	msgs, err := t.cfg.Bus.Subscribe(ctx, t.cfg.Topic)
	if err != nil {
		return nil, fmt.Errorf("subscribe to %s: %w", t.cfg.Topic, err)
	}
	return msgs, nil
}

// expiryCheck is how often nodes are checked for silence.
func (t *Tracker) expiryCheck() time.Duration { return max(t.cfg.Expiry/10, 10*time.Millisecond) }
