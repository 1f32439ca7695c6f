package chatclient

// History pages, recalls, receipts, read state and acks of the timeline.

// showPage prints a page of history under a header, indented so that it
// stands apart from live messages. Messages in it count as shown: a later
// push or sync of them is not printed again.
func (tl *timeline) showPage(id, header string, msgs []Message) {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	v := tl.view(id)
	tl.out.printf("%s", header)
	if len(msgs) > 0 {
		v.started = true
	}
	for _, m := range msgs {
		tl.out.printf("  %s", messageLine(tl.label(id), m))
		if v.oldestShown == 0 || m.Seq < v.oldestShown {
			v.oldestShown = m.Seq
		}
		if m.Seq > v.held {
			v.held = m.Seq
			v.info.LastSeq = max(v.info.LastSeq, m.Seq)
		}
		if m.SenderID == tl.me && !m.Recalled && m.Seq == v.held {
			v.lastOwn, v.lastOwnSeq = m.MessageID, m.Seq
		}
		if m.Seq == v.held {
			v.lastShown = m.MessageID
		}
	}
	tl.drain(id, v)
}

// oldestShown is the lowest seq of the session's history shown by /open
// and /history, 0 when none was.
func (tl *timeline) oldestShown(id string) int64 {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	if v := tl.sessions[id]; v != nil {
		return v.oldestShown
	}
	return 0
}

// recalled shows a recall once, however often it is pushed or answered.
func (tl *timeline) recalled(id, messageID, by string) {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	v := tl.view(id)
	if v.recalls[messageID] {
		return
	}
	v.recalls[messageID] = true
	if v.lastOwn == messageID {
		v.lastOwn = ""
	}
	tl.out.printf("[%s] %s recalled a message", tl.label(id), by)
}

// edited shows a message's new content.
func (tl *timeline) edited(id string, seq int64, content string) {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	tl.out.printf("[%s] message %d edited: %s", tl.label(id), seq, content)
}

// reaction shows a reaction added to a message or taken back.
func (tl *timeline) reaction(id, user, emoji string, seq int64, removed bool) {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	if removed {
		tl.out.printf("[%s] %s took back %s from message %d", tl.label(id), user, emoji, seq)
		return
	}
	tl.out.printf("[%s] %s reacted %s to message %d", tl.label(id), user, emoji, seq)
}

// receipt shows another member's watermark move when it newly covers my
// latest message: once when they received it, once when they read it (a
// read alone when it comes first), and nothing for moves over others'
// messages.
func (tl *timeline) receipt(id, user, ackType string, seq int64) {
	if user == tl.me || ackType != "received" && ackType != "read" {
		return
	}
	tl.mu.Lock()
	defer tl.mu.Unlock()
	v := tl.view(id)
	shown := v.receipts[user+"/"+ackType]
	if ackType == "received" {
		shown = max(shown, v.receipts[user+"/read"])
	}
	v.receipts[user+"/"+ackType] = max(v.receipts[user+"/"+ackType], seq)
	if v.lastOwnSeq <= shown || v.lastOwnSeq > seq {
		return
	}
	tl.out.printf("[%s] %s %s up to %d", tl.label(id), user, ackType, seq)
}

// setOpen makes a session the one plain text goes to; peer is the user
// named by /to, "" otherwise.
func (tl *timeline) setOpen(id, peer string) {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	tl.open, tl.openPeer = id, peer
	tl.view(id)
}

// current returns the open session and the /to peer, "" when none.
func (tl *timeline) current() (id, peer string) {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	return tl.open, tl.openPeer
}

// lastOwn returns the id of my latest message shown in a session.
func (tl *timeline) lastOwn(id string) string {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	if v := tl.sessions[id]; v != nil {
		return v.lastOwn
	}
	return ""
}

// acksDue returns the acks that move the server's watermarks up to what the
// user has been shown: read for the open session, received for the others.
// Acks are cumulative, so one per session covers every message shown.
func (tl *timeline) acksDue() []ackFrame {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	var due []ackFrame
	for id, v := range tl.sessions {
		switch {
		case id == tl.open && v.held > v.ackedRead:
			due = append(due, ackFrame{Type: "ack", SessionID: id, Seq: v.held, AckType: "read"})
		case v.held > v.ackedReceived:
			due = append(due, ackFrame{Type: "ack", SessionID: id, Seq: v.held, AckType: "received"})
		}
	}
	return due
}

// acked records an ack the server was sent.
func (tl *timeline) acked(a ackFrame) {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	v := tl.view(a.SessionID)
	v.ackedReceived = max(v.ackedReceived, a.Seq)
	if a.AckType == "read" {
		v.ackedRead = max(v.ackedRead, a.Seq)
	}
}

// sessionInfo returns a session as the server last listed it.
func (tl *timeline) sessionInfo(id string) (Session, bool) {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	v := tl.sessions[id]
	if v == nil || !v.listed {
		return Session{}, false
	}
	return v.info, true
}

// find returns the listed session whose id or label is name: a group's
// title or a direct session's peer, and how many match.
func (tl *timeline) find(name string) (id string, matches int) {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	if v := tl.sessions[name]; v != nil && v.listed {
		return name, 1
	}
	for sid, v := range tl.sessions {
		if v.listed && tl.label(sid) == name {
			id = sid
			matches++
		}
	}
	return id, matches
}
