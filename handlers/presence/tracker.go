package presence

import (
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/tellyou/tellyou/domain"
)

// Status is one user's presence as the API answers it. LastSeenAt is when
// the user's last connection closed (ms since the Unix epoch); 0 while the
// user is online, and for a user never seen offline.
type Status struct {
	UserID     string `json:"userId"`
	Online     bool   `json:"online"`
	LastSeenAt int64  `json:"lastSeenAt"`
}

// Pusher hands a frame to the local connections of users (those with none
// here are skipped) without blocking. delivery.Hub implements it.
type Pusher interface {
	PushNotice(userIDs []string, v any) error
}

// change is what happened to a user since the last flush.
type change struct {
	// offAt is the latest time a connection of the user was seen to end
	// (0: none), and persist whether this node stores it.
	offAt   int64
	persist bool
}

// remoteNode is what a Tracker knows of another node.
type remoteNode struct {
	users map[string]struct{}
	heard time.Time
	// seq is the last change counter heard from the node.
	seq uint64
	// incoming gathers a snapshot that comes in several parts.
	incoming map[string]struct{}
}

// Tracker keeps this node's view of who is online; see the package doc. Its
// methods are safe for concurrent use.
type Tracker struct {
	cfg  Config
	node string
	wake chan struct{}

	running atomic.Bool
	ready   chan struct{}

	// hooksMu guards what the delivery hub's calls change, under the hub's
	// own lock: connected holds the users with a connection here as the hub
	// reported them, hookChanges their changes not yet taken into the view.
	// It is never held for more than one entry, so the hub never waits
	// behind the view's bulk work (a snapshot merged, a dead node dropped,
	// a flush).
	hooksMu     sync.Mutex
	connected   map[string]struct{}
	hookChanges map[string]change

	mu sync.Mutex
	// local holds the users with a connection on this node; announced those
	// the other nodes were told of.
	local     map[string]struct{}
	announced map[string]struct{}
	remote    map[string]*remoteNode
	// online holds the users last pushed as online.
	online map[string]struct{}
	// lastSeen holds the last-seen times learnt while the node runs.
	lastSeen map[string]int64
	dirty    map[string]change
	// snapshotWanted asks the next flush to publish the node's whole list;
	// wants holds the nodes whose whole list it asks for.
	snapshotWanted bool
	wants          map[string]struct{}
	// seq counts the change messages this node published.
	seq uint64
}

// New builds a Tracker; Run starts it.
func New(cfg Config) (*Tracker, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Tracker{cfg: cfg, node: uuid.NewString(), wake: make(chan struct{}, 1), ready: make(chan struct{}),
		connected: map[string]struct{}{}, hookChanges: map[string]change{},
		local: map[string]struct{}{}, announced: map[string]struct{}{}, remote: map[string]*remoteNode{},
		online: map[string]struct{}{}, lastSeen: map[string]int64{}, dirty: map[string]change{},
		wants: map[string]struct{}{}}, nil
}

// UserConnected records that userID has its first connection on this node.
// The delivery hub calls it under its own lock: it only notes the change,
// under a lock of its own that nothing holds for long.
func (t *Tracker) UserConnected(userID string) {
	t.hooksMu.Lock()
	t.connected[userID] = struct{}{}
	t.hookChanges[userID] = t.hookChanges[userID]
	t.hooksMu.Unlock()
	t.signal()
}

// UserDisconnected records that the last connection of userID on this node
// ended; as UserConnected, it never waits.
func (t *Tracker) UserDisconnected(userID string) {
	now := t.cfg.Now().UnixMilli()
	t.hooksMu.Lock()
	delete(t.connected, userID)
	t.hookChanges[userID] = change{offAt: now, persist: true}
	t.hooksMu.Unlock()
	t.signal()
}

// takeHookChangesLocked takes the hub's reports since the last call into the
// view: local follows connected, and each change is marked for the next
// flush. t.mu is held.
func (t *Tracker) takeHookChangesLocked() {
	t.hooksMu.Lock()
	defer t.hooksMu.Unlock()
	for u, c := range t.hookChanges {
		if _, ok := t.connected[u]; ok {
			t.local[u] = struct{}{}
		} else {
			delete(t.local, u)
		}
		t.markLocked(u, c.offAt, c.persist)
	}
	clear(t.hookChanges)
}

// markLocked records a change of userID for the next flush. t.mu is held.
func (t *Tracker) markLocked(userID string, offAt int64, persist bool) {
	c := t.dirty[userID]
	c.offAt = max(c.offAt, offAt)
	c.persist = c.persist || persist
	t.dirty[userID] = c
}

func (t *Tracker) signal() {
	select {
	case t.wake <- struct{}{}:
	default:
	}
}

// onlineLocked reports whether userID has a connection on any node. t.mu is
// held.
func (t *Tracker) onlineLocked(userID string) bool {
	if _, ok := t.local[userID]; ok {
		return true
	}
	for _, n := range t.remote {
		if _, ok := n.users[userID]; ok {
			return true
		}
	}
	return false
}

// Online returns which of users have a connection on any node, as this node
// knows it now: no database work, for callers on a hot path (the offline
// notification trigger). Users offline are absent from the map.
func (t *Tracker) Online(users []string) map[string]bool {
	out := make(map[string]bool)
	t.mu.Lock()
	defer t.mu.Unlock()
	t.takeHookChangesLocked()
	for _, u := range users {
		if t.onlineLocked(u) {
			out[u] = true
		}
	}
	return out
}

// Statuses returns the presence of users, in their order: online as this
// node knows it now, lastSeenAt the later of what the node learnt and what
// is stored.
func (t *Tracker) Statuses(ctx context.Context, users []string) ([]Status, error) {
	out := make([]Status, len(users))
	var unknown []string
	t.mu.Lock()
	t.takeHookChangesLocked()
	for i, u := range users {
		out[i] = Status{UserID: u, Online: t.onlineLocked(u)}
		if !out[i].Online {
			out[i].LastSeenAt = t.lastSeen[u]
			unknown = append(unknown, u)
		}
	}
	t.mu.Unlock()
	if len(unknown) == 0 {
		return out, nil
	}
	stored, err := t.cfg.Store.LastSeen(ctx, unknown)
	if err != nil {
		return nil, err
	}
	for i := range out {
		if !out[i].Online {
			out[i].LastSeenAt = max(out[i].LastSeenAt, stored[out[i].UserID])
		}
	}
	return out, nil
}

// reasonNotShared is why a user may not see another's presence.
const reasonNotShared = "you share no session with "

// Lookup returns the presence of users to userID, who may see their own and
// that of users sharing a session with them; any other is refused as
// forbidden (a domain.Error), naming the first such user.
func (t *Tracker) Lookup(ctx context.Context, userID string, users []string) ([]Status, error) {
	others := slices.DeleteFunc(slices.Clone(users), func(u string) bool { return u == userID })
	shared, err := t.cfg.Store.Sharing(ctx, userID, others)
	if err != nil {
		return nil, err
	}
	for _, u := range others {
		if !shared[u] {
			return nil, &domain.Error{Kind: domain.KindForbidden, Reason: reasonNotShared + u}
		}
	}
	return t.Statuses(ctx, users)
}

// Ready is closed once Run has subscribed to the bus and announced the node.
func (t *Tracker) Ready() <-chan struct{} { return t.ready }

var errRunning = errors.New("presence tracker already running")
