package domain

import (
	"maps"
	"slices"

	"github.com/tellyou/tellyou/events"
)

// recentMessages is the part of the message history a session's state keeps
// to answer repeated sends and to decide recalls:
//
//   - every message whose server timestamp is at most the retention (the
//     longer of the dedup window and the recall retention) behind the newest
//     message seen, by the key of its (sender, clientMessageId): a repeated
//     send is answered with the original's id, seq and timestamps;
//   - of those, the messages at most the recall retention (the longer of the
//     recall and edit windows and a margin, see Policy.recallRetention)
//     behind the newest, by message id, with their sender and whether they
//     were recalled: for recalls, edits, reactions and replies.
//
// Older messages leave as new ones arrive, so memory is bounded by the message
// rate over the retention, not by the length of the session. There is no cap
// on the number of messages: a cap would forget a send inside the dedup window
// and break the promise that duplicates are recognised for at least the window.
//
// The layout is for the garbage collector: each message is one fixed-size,
// pointer-free record in a queue, and the two indexes map 16-byte keys to
// 32-bit numbers, so the collector scans none of it. Only the sender table
// (one string per sender, not per message) and the text of message ids that
// are not canonical uuids (never in streams DecideSend wrote) hold pointers.
//
// Expiry is amortised O(1) per message: records are queued in seq order and
// dropped from the front. Server timestamps are not strictly ordered by seq
// (several nodes, several clocks), so a record may outlive its retention until
// the records queued before it are old enough too; it never leaves early.
type recentMessages struct {
	retention       int64 // ms
	recallRetention int64 // ms, at most retention
	newestTs        int64 // highest server timestamp seen; meaningless while the queue is empty

	// queue[head:] are the retained messages, queue[recallHead:] the
	// recallable ones; head <= recallHead <= len(queue).
	queue      []recentRecord
	head       int
	recallHead int
	// first is the ticket of queue[0]. A record's ticket names it in the
	// indexes and stays the same as the queue is compacted; tickets wrap
	// around, which is harmless as fewer than 2³² records are ever queued.
	first uint32

	// byDedup holds the ticket of the newest retained record of each dedup key,
	// byID that of the newest recallable record of each message id.
	byDedup, byID map[msgKey]uint32
	// peakDedup and peakID are the most entries the indexes held since they
	// were made: Go maps never give memory back, so a map that once held far
	// more than it does now is copied into a smaller one.
	peakDedup, peakID int

	senders senderNames
	// otherIDs holds the text of retained message ids that are not canonical
	// uuids, by key, with the number of retained records that carry each.
	otherIDs map[msgKey]otherID
}

// recentRecord is what the state keeps of one message: 64 bytes, no pointers.
type recentRecord struct {
	dedup      msgKey // dedupKeyOf(sender, clientMessageId)
	id         msgKey // messageKeyOf(messageId)
	seq        int64
	serverTs   int64
	adjustedTs int64
	sender     uint32 // in senders; meaningful only while the record is recallable
	flags      recordFlags
}

type recordFlags uint8

const (
	// flagRecalled marks a message recalled; read while it is recallable.
	flagRecalled recordFlags = 1 << iota
	// flagOtherID marks a message id that is not a canonical uuid: its text
	// is in otherIDs.
	flagOtherID
)

// otherID is the text of a message id that is not a canonical uuid.
type otherID struct {
	text string
	refs int
}

// recentMessage is what a recall needs to know of a message.
type recentMessage struct {
	seq      int64
	sender   string
	serverTs int64
	recalled bool
}

// sentMessage is what a duplicate send is answered with.
type sentMessage struct {
	messageID  string
	seq        int64
	serverTs   int64
	adjustedTs int64
}

const (
	// minCompact is the fewest dropped records worth moving the queue for.
	minCompact = 64
	// minShrink is the least capacity (records or map entries) worth
	// reallocating smaller; below it a shrink saves too little to pay for.
	minShrink = 1024
)

func newRecentMessages(retentionMs, recallRetentionMs int64) recentMessages {
	return recentMessages{
		retention:       retentionMs,
		recallRetention: min(recallRetentionMs, retentionMs),
		byDedup:         make(map[msgKey]uint32),
		byID:            make(map[msgKey]uint32),
	}
}

// add records a message and drops what has fallen out of the retention.
func (r *recentMessages) add(m events.MessageSent) {
	if r.byDedup == nil { // a zero state, not made by NewSession
		*r = newRecentMessages(r.retention, r.recallRetention)
	}
	if r.len() == 0 {
		r.newestTs = m.ServerTimestamp
	}
	r.newestTs = max(r.newestTs, m.ServerTimestamp)

	rec := recentRecord{
		dedup:      dedupKeyOf(m.SenderID, m.ClientMessageID),
		seq:        m.Seq,
		serverTs:   m.ServerTimestamp,
		adjustedTs: m.AdjustedTimestamp,
		sender:     r.senders.ref(m.SenderID),
	}
	var canonical bool
	rec.id, canonical = messageKeyOf(m.MessageID)
	if !canonical {
		rec.flags |= flagOtherID
		if r.otherIDs == nil {
			r.otherIDs = make(map[msgKey]otherID)
		}
		o := r.otherIDs[rec.id]
		r.otherIDs[rec.id] = otherID{text: m.MessageID, refs: o.refs + 1}
	}
	ticket := r.first + uint32(len(r.queue))
	r.queue = append(r.queue, rec)
	// A later message may reuse a key or an id (only in hand-made streams):
	// the newest one answers.
	r.byDedup[rec.dedup] = ticket
	r.byID[rec.id] = ticket
	r.peakDedup = max(r.peakDedup, len(r.byDedup))
	r.peakID = max(r.peakID, len(r.byID))
	r.prune()
}

// prune drops the records that have fallen out of the recall retention from
// the recall index, and those out of the retention from the queue.
func (r *recentMessages) prune() {
	if cutoff, ok := r.cutoff(r.recallRetention); ok {
		for r.recallHead < len(r.queue) && r.queue[r.recallHead].serverTs < cutoff {
			rec := &r.queue[r.recallHead]
			if t, ok := r.byID[rec.id]; ok && t == r.ticket(r.recallHead) {
				delete(r.byID, rec.id)
			}
			r.recallHead++
		}
	}
	// Records leave the recall index before the queue: recallRetention <=
	// retention, so a record out of the retention is out of the recall
	// retention too.
	if cutoff, ok := r.cutoff(r.retention); ok {
		for r.head < r.recallHead && r.queue[r.head].serverTs < cutoff {
			rec := &r.queue[r.head]
			if t, ok := r.byDedup[rec.dedup]; ok && t == r.ticket(r.head) {
				delete(r.byDedup, rec.dedup)
			}
			if rec.flags&flagOtherID != 0 {
				r.releaseOtherID(rec.id)
			}
			r.head++
		}
	}
	r.byID, r.peakID = shrunk(r.byID, r.peakID)
	if r.head >= minCompact && r.head*2 >= len(r.queue) {
		r.compact()
	}
}

// cutoff returns the oldest server timestamp the given retention keeps, and
// false when nothing can be older.
func (r *recentMessages) cutoff(retention int64) (int64, bool) {
	c := r.newestTs - retention
	return c, c <= r.newestTs // false on underflow
}

// compact moves the retained records to the front of the queue, gives back
// memory the queue and the dedup index no longer need, and forgets the
// senders of records that are no longer recallable.
func (r *recentMessages) compact() {
	n := copy(r.queue, r.queue[r.head:])
	r.queue = r.queue[:n]
	if cap(r.queue) >= minShrink && cap(r.queue) >= 4*n {
		r.queue = slices.Clone(r.queue)
	}
	r.first += uint32(r.head)
	r.recallHead -= r.head
	r.head = 0
	r.senders.retain(r.queue[r.recallHead:])
	r.byDedup, r.peakDedup = shrunk(r.byDedup, r.peakDedup)
}

// shrunk returns m, or a copy sized for its entries when it once held at
// least four times as many (peak), with the new peak.
func shrunk(m map[msgKey]uint32, peak int) (map[msgKey]uint32, int) {
	if peak < minShrink || peak < 4*len(m) {
		return m, peak
	}
	c := make(map[msgKey]uint32, len(m))
	maps.Copy(c, m)
	return c, len(m)
}

func (r *recentMessages) releaseOtherID(k msgKey) {
	o := r.otherIDs[k]
	if o.refs <= 1 {
		delete(r.otherIDs, k)
		return
	}
	o.refs--
	r.otherIDs[k] = o
}

// ticket returns the ticket of queue[pos].
func (r *recentMessages) ticket(pos int) uint32 {
	return r.first + uint32(pos)
}

// at returns the record a ticket from an index names.
func (r *recentMessages) at(ticket uint32) *recentRecord {
	return &r.queue[ticket-r.first]
}

// message returns a recallable message by id. A message the state keeps only
// for dedup, or does not keep, is not found.
func (r *recentMessages) message(id string) (recentMessage, bool) {
	k, _ := messageKeyOf(id)
	t, ok := r.byID[k]
	if !ok {
		return recentMessage{}, false
	}
	rec := r.at(t)
	return recentMessage{
		seq:      rec.seq,
		sender:   r.senders.name(rec.sender),
		serverTs: rec.serverTs,
		recalled: rec.flags&flagRecalled != 0,
	}, true
}

// sent returns the retained message a sender sent with a client message id.
func (r *recentMessages) sent(sender, clientMessageID string) (sentMessage, bool) {
	t, ok := r.byDedup[dedupKeyOf(sender, clientMessageID)]
	if !ok {
		return sentMessage{}, false
	}
	rec := r.at(t)
	return sentMessage{
		messageID:  r.messageID(rec),
		seq:        rec.seq,
		serverTs:   rec.serverTs,
		adjustedTs: rec.adjustedTs,
	}, true
}

// messageID returns the text of a record's message id.
func (r *recentMessages) messageID(rec *recentRecord) string {
	if rec.flags&flagOtherID != 0 {
		return r.otherIDs[rec.id].text
	}
	return uuidString(rec.id)
}

// markRecalled marks a recallable message recalled; older ones are not
// tracked (the read side knows them).
func (r *recentMessages) markRecalled(id string) {
	k, _ := messageKeyOf(id)
	if t, ok := r.byID[k]; ok {
		r.at(t).flags |= flagRecalled
	}
}

// len returns how many messages are retained.
func (r *recentMessages) len() int {
	return len(r.queue) - r.head
}

// clone returns an independent copy holding the retained records only.
func (r *recentMessages) clone() recentMessages {
	c := *r
	c.queue = slices.Clone(r.queue[r.head:])
	c.first = r.ticket(r.head)
	c.recallHead = r.recallHead - r.head
	c.head = 0
	c.byDedup = maps.Clone(r.byDedup)
	c.byID = maps.Clone(r.byID)
	c.senders = r.senders.clone()
	c.otherIDs = maps.Clone(r.otherIDs)
	return c
}

// firstNotBefore returns the lowest seq of the retained messages whose server
// timestamp is at ts or later, and false when every one is older.
func (r *recentMessages) firstNotBefore(ts int64) (int64, bool) {
	var seq int64
	found := false
	for i := r.head; i < len(r.queue); i++ {
		if rec := &r.queue[i]; rec.serverTs >= ts && (!found || rec.seq < seq) {
			seq, found = rec.seq, true
		}
	}
	return seq, found
}

// forgetUpTo drops the recallable messages up to seq from the index by id:
// expired messages are no longer there to recall, edit, react to or reply
// to, however long the policy's windows. They stay for dedup, so a repeated
// send is still answered with the original.
func (r *recentMessages) forgetUpTo(seq int64) {
	for i := r.recallHead; i < len(r.queue); i++ {
		rec := &r.queue[i]
		if rec.seq > seq {
			continue
		}
		if t, ok := r.byID[rec.id]; ok && t == r.ticket(i) {
			delete(r.byID, rec.id)
		}
	}
}
