// Package tail is the one reader of the global log in a process. It follows
// the log from its head, decodes each event once and keeps the newest ones in
// memory (the window), from where it serves every follower of the process:
// the projections, the push follower, the feeds. A follower whose position is
// older than the window catches up by reading the log itself, then joins the
// window. Followers never hold the reader up, nor each other: each reads the
// window at its own pace, and one that falls out of it reads the log again.
package tail

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tellyou/tellyou/events"
	"github.com/tellyou/tellyou/events/wakeup"
)

// Log is what the tail needs of the event store.
type Log interface {
	Head(ctx context.Context) (events.Position, error)
	ReadAll(ctx context.Context, after events.Position, limit int) ([]events.RecordedEvent, error)
	Subscribe(ctx context.Context, after events.Position, batchSize int, handle func(ctx context.Context, batch []events.RecordedEvent) error) error
}

var _ Log = events.Store(nil)

// Event is a recorded event with its decoded envelope. Events are shared by
// every follower: never change one.
type Event struct {
	events.RecordedEvent
	// Envelope is the decoded event; zero when DecodeErr is set.
	Envelope events.Envelope
	// DecodeErr is why the event could not be decoded (an unknown type, a
	// newer schema, a corrupt payload). Followers decide what that means to
	// them; the tail passes the event on like any other.
	DecodeErr error
}

// Decode decodes a recorded event into an Event, its content left as stored.
func Decode(r events.RecordedEvent) *Event {
	env, err := events.Decode(r)
	return &Event{RecordedEvent: r, Envelope: env, DecodeErr: err}
}

// Opener opens the sealed content of a decoded payload (see
// events/sealing.Sealer.Open): it returns the payload with its content in
// clear, or marked Erased when the content's key is gone.
type Opener interface {
	Open(ctx context.Context, p events.Payload) (events.Payload, error)
}

// DecodeOpened is Decode followed by opening the payload with o (nil leaves
// it as stored). An event whose content cannot be opened (forged, or the
// keys out of reach) gets the reason as its DecodeErr, which followers
// meet and read again like any event that could not be decoded.
func DecodeOpened(ctx context.Context, r events.RecordedEvent, o Opener) *Event {
	e := Decode(r)
	if o == nil || e.DecodeErr != nil {
		return e
	}
	p, err := o.Open(ctx, e.Envelope.Payload)
	if err != nil {
		return &Event{RecordedEvent: r, DecodeErr: fmt.Errorf("open %s@%d: %w", r.StreamID, r.Version, err)}
	}
	e.Envelope.Payload = p
	return e
}

// Config configures a Tail.
type Config struct {
	// Log is the event store. Required.
	Log Log
	// Window is how many of the newest events the tail keeps for its
	// followers (default 16,384). A follower further behind reads the log
	// itself until it is back within the window.
	Window int
	// BatchSize is how many events one read of the log takes (default 1,000).
	BatchSize int
	// RetryDelay is the pause after a failed read before the next (default
	// 1 s).
	RetryDelay time.Duration
	// Logger receives read failures (default slog.Default()).
	Logger *slog.Logger
	// Opener, when set, opens sealed content as events are decoded, once
	// for every follower: they see content in clear, or Erased. The window
	// keeps what it opened: content in it shredded meanwhile stays open
	// there until it leaves the window.
	Opener Opener
}

func (c *Config) setDefaults() {
	if c.Window <= 0 {
		c.Window = 16384
	}
	if c.BatchSize <= 0 {
		c.BatchSize = 1000
	}
	if c.RetryDelay <= 0 {
		c.RetryDelay = time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}

// Validate reports a missing dependency.
func (c Config) Validate() error {
	if c.Log == nil {
		return errors.New("log tail config: nil Log")
	}
	return nil
}

// Tail follows the global log for the whole process; see the package doc.
// Create it with New, run it with Run, and follow it with Follow or
// Subscribe from any number of goroutines.
type Tail struct {
	cfg     Config
	ready   chan struct{}
	running atomic.Bool
	wake    *wakeup.Broadcast

	mu sync.Mutex
	// ring holds the window, oldest first from start, n of them.
	ring  []*Event
	start int
	n     int
	// base is the position after which the window holds every event up to
	// head: an event above base is in the window, or newer than head.
	base events.Position
	head events.Position
}

// New returns a tail that has not started reading (see Run).
func New(cfg Config) (*Tail, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Tail{cfg: cfg, ready: make(chan struct{}), wake: wakeup.New(), ring: make([]*Event, cfg.Window)}, nil
}

// Ready is closed once Run has read the log's head: from then on the tail
// reads every event after it.
func (t *Tail) Ready() <-chan struct{} { return t.ready }

// Run reads the log from its head until ctx ends, then returns nil. Read
// failures are logged and retried after RetryDelay, from the last event read:
// nothing is skipped. Run must not be called twice.
func (t *Tail) Run(ctx context.Context) error {
	if !t.running.CompareAndSwap(false, true) {
		return errors.New("log tail already running")
	}
	head, err := t.readHead(ctx)
	if err != nil {
		return nil // ctx ended
	}
	t.mu.Lock()
	t.base, t.head = head, head
	t.mu.Unlock()
	close(t.ready)
	for {
		err := t.cfg.Log.Subscribe(ctx, t.Position(), t.cfg.BatchSize, t.add)
		if ctx.Err() != nil {
			return nil
		}
		t.cfg.Logger.Warn("log tail: reading the log failed, retrying", "after", t.Position(), "err", err)
		if !sleep(ctx, t.cfg.RetryDelay) {
			return nil
		}
	}
}

func (t *Tail) readHead(ctx context.Context) (events.Position, error) {
	for {
		head, err := t.cfg.Log.Head(ctx)
		if err == nil {
			return head, nil
		}
		if ctx.Err() != nil {
			return 0, ctx.Err()
		}
		t.cfg.Logger.Warn("log tail: reading the log head failed, retrying", "err", err)
		if !sleep(ctx, t.cfg.RetryDelay) {
			return 0, ctx.Err()
		}
	}
}

// Position returns the position of the newest event the tail has read (the
// log's head when Run started, before it has read any).
func (t *Tail) Position() events.Position {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.head
}

// add decodes a batch read from the log and puts it in the window, evicting
// the oldest events past Window, then wakes the followers.
func (t *Tail) add(ctx context.Context, batch []events.RecordedEvent) error {
	decoded := make([]*Event, len(batch))
	for i, r := range batch {
		decoded[i] = DecodeOpened(ctx, r, t.cfg.Opener)
	}
	t.mu.Lock()
	for _, e := range decoded {
		if t.n == len(t.ring) {
			oldest := t.ring[t.start]
			t.ring[t.start] = nil
			t.start = (t.start + 1) % len(t.ring)
			t.n--
			t.base = oldest.Position
		}
		t.ring[(t.start+t.n)%len(t.ring)] = e
		t.n++
		t.head = e.Position
	}
	t.mu.Unlock()
	t.wake.Wake()
	return nil
}

// fromWindow returns up to limit events after position after from the
// window, and false when after is older than the window.
func (t *Tail) fromWindow(after events.Position, limit int) ([]*Event, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if after < t.base {
		return nil, false
	}
	first := sort.Search(t.n, func(i int) bool { return t.ring[(t.start+i)%len(t.ring)].Position > after })
	count := min(t.n-first, limit)
	if count <= 0 {
		return nil, true
	}
	out := make([]*Event, 0, count)
	for i := range count {
		e := t.ring[(t.start+first+i)%len(t.ring)]
		if e.DecodeErr != nil && i > 0 {
			break // served on its own, read again: see Follow
		}
		out = append(out, e)
	}
	return out, true
}

// Follow delivers the log after position after to handle, in order, in
// batches of at most batchSize events (<= 0 means the tail's BatchSize),
// decoded, until ctx ends (it returns ctx's error) or handle fails (it
// returns handle's error, wrapped). It waits for Ready first. Positions older
// than the window are read from the log directly; failures to read are
// logged and retried after RetryDelay. handle is never called concurrently
// by one Follow, and may keep the batch: its events are shared and must not
// be changed.
func (t *Tail) Follow(ctx context.Context, after events.Position, batchSize int, handle func(ctx context.Context, batch []*Event) error) error {
	if batchSize <= 0 {
		batchSize = t.cfg.BatchSize
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.ready:
	}
	for {
		wake := t.wake.Wait()
		batch, inWindow := t.fromWindow(after, batchSize)
		if len(batch) > 0 && batch[0].DecodeErr != nil {
			// An event that could not be decoded may have been repaired in
			// the store since (an operator's fix): every follower that meets
			// it reads it again rather than taking the window's copy.
			inWindow = false
		}
		if !inWindow {
			var err error
			if batch, err = t.catchUp(ctx, &after, batchSize); err != nil {
				return err
			}
			if batch == nil {
				continue
			}
		}
		if len(batch) > 0 {
			if err := handle(ctx, batch); err != nil {
				return fmt.Errorf("follow the log after position %d: handle events %d to %d: %w",
					after, batch[0].Position, batch[len(batch)-1].Position, err)
			}
			after = batch[len(batch)-1].Position
			continue
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-wake:
		}
	}
}

// catchUp reads the events after *after from the log, for a follower older
// than the window or at an event that could not be decoded. It returns nil (and moves *after to the window's base)
// when the log holds nothing between them, and ctx's error once it ends.
func (t *Tail) catchUp(ctx context.Context, after *events.Position, batchSize int) ([]*Event, error) {
	for {
		recs, err := t.cfg.Log.ReadAll(ctx, *after, batchSize)
		if err == nil {
			if len(recs) == 0 {
				t.mu.Lock()
				*after = max(*after, t.base)
				t.mu.Unlock()
				return nil, nil
			}
			out := make([]*Event, len(recs))
			for i, r := range recs {
				out[i] = DecodeOpened(ctx, r, t.cfg.Opener)
			}
			return out, nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		t.cfg.Logger.Warn("log tail: a follower's catch-up read failed, retrying", "after", *after, "err", err)
		if !sleep(ctx, t.cfg.RetryDelay) {
			return nil, ctx.Err()
		}
	}
}

// Subscribe is Follow for followers that need the recorded events only; it
// gives the tail the shape of events.Store's Subscribe.
func (t *Tail) Subscribe(ctx context.Context, after events.Position, batchSize int, handle func(ctx context.Context, batch []events.RecordedEvent) error) error {
	return t.Follow(ctx, after, batchSize, func(ctx context.Context, batch []*Event) error {
		recs := make([]events.RecordedEvent, len(batch))
		for i, e := range batch {
			recs[i] = e.RecordedEvent
		}
		return handle(ctx, recs)
	})
}

// Head returns the log's head as the tail has read it, once Run has started
// (it waits for Ready).
func (t *Tail) Head(ctx context.Context) (events.Position, error) {
	select {
	case <-ctx.Done():
		return 0, ctx.Err()
	case <-t.ready:
		return t.Position(), nil
	}
}

// sleep pauses for d; false when ctx ended first.
func sleep(ctx context.Context, d time.Duration) bool {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-timer.C:
		return true
	}
}
