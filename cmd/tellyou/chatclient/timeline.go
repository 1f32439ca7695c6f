package chatclient

import "sync"

// timeline is what the user has been shown of each session, and the order
// in which new messages reach the screen. Each session keeps the highest seq
// shown ("held"): a message at or below it is a repeat and is dropped; one
// right after it is shown; one further ahead waits until the gap before it
// is filled by a sync. So push, sync and history together show every message
// once, in seq order, across reconnections. It is safe for concurrent use;
// it prints while holding its lock so that lines keep that order.
type timeline struct {
	me      string
	backlog int64
	out     *printer

	mu       sync.Mutex
	sessions map[string]*sessionView
	open     string // the session plain text goes to; "" when none is open
	openPeer string // the user /to named, when the open session is direct
}

// sessionView is one session as the user sees it.
type sessionView struct {
	info   Session
	listed bool // info came from the server's session list
	// started is set once held is a real place in the session: from the
	// list, a page of history or the first message seen. Until then the
	// first message seen is where the user's view of the session starts.
	started bool
	held    int64
	early   map[int64]Message // messages above held+1, waiting for the gap to fill
	// filling is set while a sync of the session runs, so one at a time does.
	filling       bool
	oldestShown   int64           // lowest seq of the history pages shown, 0 when none
	recalls       map[string]bool // message ids whose recall was shown
	receipts      map[string]int64
	ackedReceived int64
	ackedRead     int64
	lastOwn       string // id of my latest message in the session
	lastOwnSeq    int64  // and its seq
	lastShown     string // id of the latest message shown, anyone's
}

func newTimeline(me string, backlog int, out *printer) *timeline {
	return &timeline{me: me, backlog: int64(backlog), out: out, sessions: map[string]*sessionView{}}
}

// view returns the session's view, creating it with nothing shown. Callers
// hold tl.mu.
func (tl *timeline) view(id string) *sessionView {
	v := tl.sessions[id]
	if v == nil {
		v = &sessionView{early: map[int64]Message{}, recalls: map[string]bool{}, receipts: map[string]int64{}}
		tl.sessions[id] = v
	}
	return v
}

// label names a session on screen: a group's title, a direct session's other
// member, or the id. Callers hold tl.mu.
func (tl *timeline) label(id string) string {
	if peer := directPeer(id, tl.me); peer != "" {
		return peer
	}
	if v := tl.sessions[id]; v != nil && v.info.Title != "" {
		return v.info.Title
	}
	return id
}

// Label is label for callers that do not hold the lock.
func (tl *timeline) Label(id string) string {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	return tl.label(id)
}

// known reports whether the session is in the session list the client has.
func (tl *timeline) known(id string) bool {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	v := tl.sessions[id]
	return v != nil && v.listed
}

// learn takes in the server's session list. A session seen for the first
// time starts after the user's read watermark, so its unread messages are
// synced and shown; at most backlog of them, the rest are left to /open
// and /history.
func (tl *timeline) learn(list []Session) {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	for _, s := range list {
		v := tl.view(s.SessionID)
		if !v.started {
			v.info, v.started = s, true
			v.held = max(v.held, s.ReadSeq, s.LastSeq-tl.backlog)
			if skipped := v.held - s.ReadSeq; skipped > 0 {
				tl.out.printf("[%s] %d earlier unread messages not shown: /open %s and /history show them",
					tl.label(s.SessionID), skipped, s.SessionID)
			}
		}
		v.info, v.listed = s, true
		v.ackedReceived = max(v.ackedReceived, s.ReceivedSeq)
		v.ackedRead = max(v.ackedRead, s.ReadSeq)
	}
}

// behind returns the sessions with messages the user has not been shown:
// the list says there are more, or some wait behind a gap.
func (tl *timeline) behind() []string {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	var ids []string
	for id, v := range tl.sessions {
		if v.info.LastSeq > v.held || len(v.early) > 0 {
			ids = append(ids, id)
		}
	}
	return ids
}

// deliver shows new messages in seq order and drops repeats. It returns the
// sessions that now have a gap before a waiting message and no sync running:
// the caller syncs each (claimSync has been done for them).
func (tl *timeline) deliver(msgs []Message) (gaps []string) {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	for _, m := range msgs {
		v := tl.view(m.SessionID)
		if !v.started {
			// A session that began after the list was read: its first
			// message seen here is where the user's view of it starts.
			v.held, v.started = m.Seq-1, true
		}
		if m.Seq <= v.held {
			continue
		}
		v.early[m.Seq] = m
		tl.drain(m.SessionID, v)
		if len(v.early) > 0 && !v.filling {
			v.filling = true
			gaps = append(gaps, m.SessionID)
		}
	}
	return gaps
}

// drain shows the waiting messages that follow held. Callers hold tl.mu.
func (tl *timeline) drain(id string, v *sessionView) {
	for seq := range v.early {
		if seq <= v.held {
			delete(v.early, seq)
		}
	}
	for {
		m, ok := v.early[v.held+1]
		if !ok {
			return
		}
		delete(v.early, m.Seq)
		v.held = m.Seq
		v.info.LastSeq = max(v.info.LastSeq, m.Seq)
		if m.SenderID == tl.me && !m.Recalled {
			v.lastOwn, v.lastOwnSeq = m.MessageID, m.Seq
		}
		v.lastShown = m.MessageID
		tl.out.printf("%s", messageLine(tl.label(id), m))
	}
}

// lastShown returns the id of the latest message shown in the session, "" for
// none.
func (tl *timeline) lastShown(id string) string {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	if v := tl.sessions[id]; v != nil {
		return v.lastShown
	}
	return ""
}

// claimSync marks a sync of the session as running; false when one already is.
func (tl *timeline) claimSync(id string) bool {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	v := tl.view(id)
	if v.filling {
		return false
	}
	v.filling = true
	return true
}

// syncDone ends a sync of the session, unless a gap remains: then it keeps
// the claim and returns true, and the caller syncs again.
func (tl *timeline) syncDone(id string) (again bool) {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	v := tl.view(id)
	if len(v.early) > 0 {
		return true
	}
	v.filling = false
	return false
}

// releaseSync ends a sync of the session whatever remains; the next push or
// reconnection starts another.
func (tl *timeline) releaseSync(id string) {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	tl.view(id).filling = false
}

// waiting reports whether a message of any session waits behind a gap.
func (tl *timeline) waiting() bool {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	for _, v := range tl.sessions {
		if len(v.early) > 0 {
			return true
		}
	}
	return false
}

// held returns the highest seq shown of a session.
func (tl *timeline) held(id string) int64 {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	if v := tl.sessions[id]; v != nil {
		return v.held
	}
	return 0
}
