package loadgen

import "context"

// ackLatest sends a cumulative ack of ackType for every session that has
// new messages since the last received ack (read acks: always the latest).
func (d *device) ackLatest(ctx context.Context, ackType string) {
	d.mu.Lock()
	var todo []ackFrame
	for s, seq := range d.latest {
		if ackType == "read" || seq > d.acked[s] {
			d.acked[s] = max(d.acked[s], seq)
			todo = append(todo, ackFrame{Type: "ack", ID: d.frameID("a"), SessionID: s, Seq: seq, AckType: ackType})
		}
	}
	d.mu.Unlock()
	for _, f := range todo {
		d.rec.acksSent.Add(1)
		// Written whole even when ctx ends meanwhile: coder/websocket closes
		// a connection whose write is cancelled half way.
		if d.write(context.WithoutCancel(ctx), f) != nil {
			d.writeFailed()
			return
		}
	}
}

// syncFrom asks for what follows the highest seq held in the device's
// session; the reader asks for the next page while hasMore.
func (d *device) syncFrom(ctx context.Context, session string) {
	d.mu.Lock()
	after := d.latest[session]
	d.mu.Unlock()
	d.rec.syncs.Add(1)
	if d.write(context.WithoutCancel(ctx), syncFrame{Type: "sync", ID: d.frameID("y"), SessionID: session, AfterSeq: after, Limit: 500}) != nil {
		d.writeFailed()
	}
}
