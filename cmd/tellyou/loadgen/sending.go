package loadgen

import (
	"cmp"
	"context"
	"slices"
	"strconv"
	"time"
)

// outgoing is one message of a device, from its first attempt to its
// sendAck. A resend writes the same frame again: same id, clientMessageId,
// timestamps and ext.
type outgoing struct {
	frame   sendFrame
	number  int64     // the device's count of messages: its send order
	first   time.Time // first attempt
	written time.Time // latest attempt
	due     time.Time // refused: when it may be written again
}

// defaultRetryAfter is the wait after an overloaded refusal that carries no
// retryAfterMs.
const defaultRetryAfter = 100 * time.Millisecond

// wake tells a sender waiting for room to look again.
func (d *device) wake() {
	select {
	case d.changed <- struct{}{}:
	default:
	}
}

// send writes one new message once the device has room: fewer than InFlight
// sends unanswered or refused, and none refused (refused sends are written
// again before anything new, so that a connection keeps its send order). It
// returns false when ctx ended first or the write failed.
func (d *device) send(ctx context.Context) bool {
	for !d.reserve() {
		select {
		case <-d.changed:
		case <-ctx.Done():
			return false
		}
	}
	defer d.sendMu.Unlock()
	now := time.Now()
	o := &outgoing{number: d.sends.Add(1), first: now, written: now}
	o.frame = sendFrame{Type: "send", ID: d.frameID("s"), MessageType: 1, Content: d.content,
		ClientMessageID: d.user + "-" + strconv.FormatInt(o.number, 10) + "-" + strconv.FormatInt(now.UnixNano(), 36),
		ClientTimestamp: now.UnixMilli(), Ext: benchExt{SentAt: now.UnixNano()}}
	if d.peer != "" {
		o.frame.ToUserID = d.peer
	} else {
		o.frame.SessionID = d.session
	}
	d.mu.Lock()
	d.pending[o.frame.ID] = o
	d.mu.Unlock()
	d.rec.sent.Add(1)
	// The connection's own context: a send is written whole even when the
	// sending phase ends meanwhile.
	if err := d.write(context.Background(), o.frame); err != nil {
		d.writeFailed()
		return false
	}
	return true
}

// reserve takes sendMu when the device has room for a new send; the caller
// writes the send and unlocks.
func (d *device) reserve() bool {
	d.sendMu.Lock()
	d.mu.Lock()
	room := len(d.refused) == 0 && len(d.pending) < d.maxInFlight
	d.mu.Unlock()
	if !room {
		d.sendMu.Unlock()
	}
	return room
}

// inFlight is the number of sends without their final answer: unanswered,
// or refused and waiting for their resend.
func (d *device) inFlight() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.pending) + len(d.refused)
}

// answered handles the answer to a send frame: a sendAck, a refusal to
// resend, or an error.
func (d *device) answered(ctx context.Context, f serverFrame, now time.Time) {
	d.mu.Lock()
	o, ok := d.pending[f.ID]
	delete(d.pending, f.ID)
	if !ok {
		wasStale := d.stale[f.ID]
		delete(d.stale, f.ID)
		d.mu.Unlock()
		if !wasStale {
			d.rec.fail("answer to no send in flight")
		}
		return
	}
	if f.Type == "error" && f.Code == codeOverloaded {
		wait := time.Duration(f.RetryAfterMs) * time.Millisecond
		if wait <= 0 {
			wait = defaultRetryAfter
		}
		o.due = now.Add(wait)
		at, _ := slices.BinarySearchFunc(d.refused, o.number, func(r *outgoing, n int64) int { return cmp.Compare(r.number, n) })
		d.refused = slices.Insert(d.refused, at, o)
		start := !d.resending
		d.resending = true
		d.mu.Unlock()
		d.rec.overloaded.Add(1)
		if start {
			d.reader.Add(1)
			go func() {
				defer d.reader.Done()
				d.resend(ctx)
			}()
		}
		return
	}
	d.mu.Unlock()
	d.wake()
	if f.Type == "error" {
		d.rec.fail("send:" + f.Code)
		return
	}
	d.rec.ackReceived(now.Sub(o.written), now.Sub(o.first), now)
	if f.Duplicate {
		d.rec.duplicateAcks.Add(1)
	}
	if f.SessionID != "" && f.Seq > 0 {
		// The device's own message: marking its seq keeps the set compact.
		d.mu.Lock()
		d.seqs(f.SessionID).add(f.Seq)
		d.mu.Unlock()
	}
}

// resend writes the refused sends again, oldest first, each once its
// retryAfterMs has passed, until none is left or ctx (the connection's)
// ends.
func (d *device) resend(ctx context.Context) {
	stop := func() {
		d.mu.Lock()
		d.resending = false
		d.mu.Unlock()
	}
	for {
		d.mu.Lock()
		if len(d.refused) == 0 {
			d.resending = false
			d.mu.Unlock()
			return
		}
		due := d.refused[0].due
		d.mu.Unlock()
		if wait := time.Until(due); wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				stop()
				return
			case <-t.C:
			}
		}
		if !d.resendOldest() {
			stop()
			return
		}
	}
}

// resendOldest writes the oldest refused send again; false when the write
// failed.
func (d *device) resendOldest() bool {
	d.sendMu.Lock()
	defer d.sendMu.Unlock()
	d.mu.Lock()
	if len(d.refused) == 0 {
		d.mu.Unlock()
		return true
	}
	o := d.refused[0]
	d.refused = d.refused[1:]
	o.written = time.Now()
	d.pending[o.frame.ID] = o
	d.mu.Unlock()
	d.wake()
	d.rec.resent.Add(1)
	if err := d.write(context.Background(), o.frame); err != nil {
		d.writeFailed()
		return false
	}
	return true
}

// retire ends the step for the device: it returns the number of sends
// without their final answer, forgets the refused ones and leaves the
// answers of the others uncounted.
func (d *device) retire() int64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	n := int64(len(d.pending) + len(d.refused))
	for id := range d.pending {
		d.stale[id] = true
	}
	clear(d.pending)
	d.refused = nil
	d.wake()
	return n
}
