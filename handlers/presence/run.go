package presence

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/tellyou/tellyou/handlers/transport/wire"
)

// Timeouts of the database work of one flush and of the last one at shutdown.
const (
	queryTimeout = 5 * time.Second
	finalTimeout = 2 * time.Second
)

// maxPeerBatch bounds the users whose peers one query looks up.
const maxPeerBatch = 1000

// maxQueuedPushes bounds the flushes whose pushes wait for the pusher.
const maxQueuedPushes = 64

// Run tracks presence until ctx ends: it publishes this node's changes and
// heartbeats, applies the other nodes', expires silent nodes, pushes presence
// frames to the local connections through push and stores last-seen times.
// When ctx ends it publishes the last changes and a goodbye, so that the
// other nodes take its users offline at once, and stores what is pending. It
// returns an error only when it cannot subscribe to the bus. Run must not be
// called twice.
func (t *Tracker) Run(ctx context.Context, push Pusher) error {
	if !t.running.CompareAndSwap(false, true) {
		return errRunning
	}
	subCtx, endSub := context.WithCancel(ctx)
	defer endSub()
	msgs, err := t.subscribe(subCtx)
	if err != nil {
		return err
	}
	lastSeen := newLastSeenWriter(t.cfg.Store, t.cfg.Logger)
	var wg sync.WaitGroup
	writerCtx, stopWriter := context.WithCancel(context.Background())
	wg.Go(func() { lastSeen.run(writerCtx) })
	defer func() {
		stopWriter()
		wg.Wait()
	}()
	if msgs != nil {
		wg.Go(func() { t.receive(subCtx, msgs) })
		t.publish(busMessage{Kind: kindHello})
	}
	// The pushes go out on a goroutine of their own, in flush order: their
	// database look-ups never hold up the heartbeats and the bus.
	pushes := make(chan []Status, maxQueuedPushes)
	pushed := make(chan struct{})
	pushCtx, endPushes := context.WithCancel(context.Background())
	go func() {
		defer close(pushed)
		for batch := range pushes {
			t.push(pushCtx, push, batch)
		}
	}()
	defer func() {
		// The last flush's pushes go out, within finalTimeout.
		close(pushes)
		stop := time.AfterFunc(finalTimeout, endPushes)
		<-pushed
		stop.Stop()
		endPushes()
	}()
	close(t.ready)

	heartbeat := time.NewTicker(t.cfg.Heartbeat)
	defer heartbeat.Stop()
	expiry := time.NewTicker(t.expiryCheck())
	defer expiry.Stop()
	for {
		select {
		case <-ctx.Done():
			final, cancel := context.WithTimeout(context.Background(), finalTimeout)
			t.flush(pushes, lastSeen)
			t.publish(busMessage{Kind: kindBye})
			lastSeen.flush(final)
			cancel()
			return nil
		case <-t.wake:
			select {
			case <-time.After(t.cfg.Debounce):
			case <-ctx.Done():
				continue
			}
			t.flush(pushes, lastSeen)
		case <-heartbeat.C:
			t.mu.Lock()
			seq := t.seq
			t.mu.Unlock()
			t.publish(busMessage{Kind: kindHeartbeat, Seq: seq})
		case <-expiry.C:
			if msgs != nil {
				t.expire()
			}
		}
	}
}

// flush publishes the changes gathered since the last flush, and the
// snapshot and the requests for snapshots asked for; then stores the new
// last-seen times and queues the changes of users' presence for the pusher.
func (t *Tracker) flush(pushes chan<- []Status, lastSeen *lastSeenWriter) {
	now := t.cfg.Now().UnixMilli()
	t.mu.Lock()
	t.takeHookChangesLocked()
	dirty := t.dirty
	t.dirty = map[string]change{}
	var changes busMessage
	var changed []Status
	stored := map[string]int64{}
	for u, c := range dirty {
		offAt := c.offAt
		if offAt == 0 {
			offAt = now
		}
		_, isLocal := t.local[u]
		_, announced := t.announced[u]
		switch {
		case isLocal && !announced:
			t.announced[u] = struct{}{}
			changes.Online = append(changes.Online, u)
		case !isLocal && (announced || c.persist):
			delete(t.announced, u)
			changes.Offline = append(changes.Offline, offlineUser{UserID: u, At: offAt})
		}
		_, was := t.online[u]
		switch on := t.onlineLocked(u); {
		case on && !was:
			t.online[u] = struct{}{}
			changed = append(changed, Status{UserID: u, Online: true})
		case !on && (was || c.offAt > 0):
			delete(t.online, u)
			at := max(offAt, t.lastSeen[u])
			t.lastSeen[u] = at
			changed = append(changed, Status{UserID: u, LastSeenAt: at})
			if c.persist {
				stored[u] = at
			}
		}
	}
	var out []busMessage
	for len(changes.Online) > 0 || len(changes.Offline) > 0 {
		t.seq++
		m := busMessage{Kind: kindChanges, Seq: t.seq}
		m.Online, changes.Online = cut(changes.Online)
		m.Offline, changes.Offline = cut(changes.Offline)
		out = append(out, m)
	}
	if t.snapshotWanted {
		t.snapshotWanted = false
		out = append(out, t.snapshotLocked()...)
	}
	for node := range t.wants {
		out = append(out, busMessage{Kind: kindWant, Target: node})
	}
	clear(t.wants)
	anyoneHere := len(t.local) > 0
	t.mu.Unlock()

	t.publish(out...)
	lastSeen.add(stored)
	if anyoneHere && len(changed) > 0 {
		select {
		case pushes <- changed:
		default:
			// Presence is ephemeral: a client asks again when it opens a
			// session. Dropping is better than holding up the heartbeats.
			t.cfg.Logger.Warn("presence: the pusher is behind; dropping presence pushes", "users", len(changed))
		}
	}
}

// cut splits off the first maxPerMessage entries of s.
func cut[T any](s []T) (head, rest []T) {
	n := min(len(s), maxPerMessage)
	return s[:n], s[n:]
}

// push sends each changed user's presence to the local connections of the
// users sharing a session with them. The lookup failing loses the pushes:
// presence is ephemeral, and a client asks again when it opens a session.
func (t *Tracker) push(ctx context.Context, push Pusher, changed []Status) {
	for batch := range slices.Chunk(changed, maxPeerBatch) {
		users := make([]string, len(batch))
		for i, s := range batch {
			users[i] = s.UserID
		}
		qctx, cancel := context.WithTimeout(ctx, queryTimeout)
		peers, err := t.cfg.Store.Peers(qctx, users, t.cfg.MaxSessionMembers)
		cancel()
		if err != nil {
			t.cfg.Logger.Warn("presence: cannot find whom to tell of presence changes", "users", len(users), "err", err)
			continue
		}
		for _, s := range batch {
			if len(peers[s.UserID]) == 0 {
				continue
			}
			frame := wire.PresenceFrame{Type: wire.TypePresence, UserID: s.UserID, Online: s.Online, LastSeenAt: s.LastSeenAt}
			if err := push.PushNotice(peers[s.UserID], frame); err != nil {
				t.cfg.Logger.Error("presence: cannot encode presence frame", "err", err)
				return
			}
		}
	}
}
