package domain

import (
	"maps"
	"math"
	"slices"

	"github.com/tellyou/tellyou/events"
)

// recentMessages is the part of the message history a session's state keeps
// for deciding recalls and answering duplicate sends: the messages whose server
// timestamp is at most the retention behind the newest message seen. Older
// entries are dropped as new messages arrive, so memory is bounded by the
// message rate over the retention, not by the length of the session.
//
// Pruning is amortised O(1) per message: entries are queued in seq order and
// dropped from the front. Server timestamps are not strictly ordered by seq
// (several nodes, several clocks), so an entry may outlive its retention
// until the entries queued before it are old enough too; it is never dropped
// early.
type recentMessages struct {
	retention int64 // ms
	newestTs  int64 // highest server timestamp seen; math.MinInt64 before any

	byID       map[string]recentMessage
	byClientID map[dedupKey]sentMessage

	queue []queuedMessage // live entries are queue[head:], in seq order
	head  int
}

// recentMessage is what a recall needs to know of a message.
type recentMessage struct {
	seq      int64
	sender   string
	serverTs int64
	recalled bool
}

// dedupKey identifies a send as its client knows it.
type dedupKey struct {
	sender, clientMessageID string
}

// sentMessage is what a duplicate send is answered with.
type sentMessage struct {
	messageID  string
	seq        int64
	serverTs   int64
	adjustedTs int64
}

// queuedMessage locates the map entries of one message for pruning.
type queuedMessage struct {
	messageID string
	key       dedupKey
	seq       int64
	serverTs  int64
}

// minCompact is the fewest dropped entries worth moving the queue for.
const minCompact = 64

func newRecentMessages(retentionMs int64) recentMessages {
	return recentMessages{
		retention:  retentionMs,
		newestTs:   math.MinInt64,
		byID:       make(map[string]recentMessage),
		byClientID: make(map[dedupKey]sentMessage),
	}
}

// add records a message and drops what has fallen out of the retention.
func (r *recentMessages) add(m events.MessageSent) {
	if r.byID == nil {
		*r = newRecentMessages(r.retention)
	}
	key := dedupKey{sender: m.SenderID, clientMessageID: m.ClientMessageID}
	r.byID[m.MessageID] = recentMessage{seq: m.Seq, sender: m.SenderID, serverTs: m.ServerTimestamp}
	r.byClientID[key] = sentMessage{
		messageID:  m.MessageID,
		seq:        m.Seq,
		serverTs:   m.ServerTimestamp,
		adjustedTs: m.AdjustedTimestamp,
	}
	r.queue = append(r.queue, queuedMessage{messageID: m.MessageID, key: key, seq: m.Seq, serverTs: m.ServerTimestamp})
	r.newestTs = max(r.newestTs, m.ServerTimestamp)
	r.prune()
}

func (r *recentMessages) prune() {
	cutoff := r.newestTs - r.retention
	if cutoff > r.newestTs { // underflow: nothing can be older
		return
	}
	for r.head < len(r.queue) && r.queue[r.head].serverTs < cutoff {
		q := r.queue[r.head]
		// A later message may have reused the id or key (only possible in
		// hand-made streams); its entry stays.
		if m, ok := r.byID[q.messageID]; ok && m.seq == q.seq {
			delete(r.byID, q.messageID)
		}
		if m, ok := r.byClientID[q.key]; ok && m.seq == q.seq {
			delete(r.byClientID, q.key)
		}
		r.queue[r.head] = queuedMessage{} // release the strings
		r.head++
	}
	if r.head >= minCompact && r.head*2 >= len(r.queue) {
		n := copy(r.queue, r.queue[r.head:])
		clear(r.queue[n:])
		r.queue = r.queue[:n]
		r.head = 0
	}
}

// message returns a recent message by id.
func (r *recentMessages) message(id string) (recentMessage, bool) {
	m, ok := r.byID[id]
	return m, ok
}

// sent returns the recent message a sender sent with a client message id.
func (r *recentMessages) sent(sender, clientMessageID string) (sentMessage, bool) {
	m, ok := r.byClientID[dedupKey{sender: sender, clientMessageID: clientMessageID}]
	return m, ok
}

// markRecalled marks a recent message recalled; older ones are not tracked.
func (r *recentMessages) markRecalled(id string) {
	if m, ok := r.byID[id]; ok {
		m.recalled = true
		r.byID[id] = m
	}
}

// len returns how many messages are retained.
func (r *recentMessages) len() int {
	return len(r.queue) - r.head
}

func (r *recentMessages) clone() recentMessages {
	c := *r
	c.byID = maps.Clone(r.byID)
	c.byClientID = maps.Clone(r.byClientID)
	c.queue = slices.Clone(r.queue[r.head:])
	c.head = 0
	return c
}
