package command

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"

	"github.com/tellyou/tellyou/domain"
	"github.com/tellyou/tellyou/events"
	"github.com/tellyou/tellyou/events/sealing"
)

// EventStore is what the handlers need of the event log.
type EventStore interface {
	Append(ctx context.Context, streamID string, expected events.ExpectedVersion, evs []events.EventData) (events.AppendResult, error)
	ReadStream(ctx context.Context, streamID string, fromVersion int64, limit int) ([]events.RecordedEvent, error)
}

// RequestMeta says who asked for a change and why, for the events' metadata.
type RequestMeta struct {
	// Actor is the authenticated user id.
	Actor string
	// CorrelationID ties the events to the client request; empty gets a fresh id.
	CorrelationID string
	// CausationID is the id of what caused the change (a frame or request id);
	// empty means the correlation id.
	CausationID string
}

// decideFunc decides on the session's current state. It must not change the
// state: it is the cached state itself (domain decisions are pure). It may be
// called several times when appends conflict, each time on fresher state.
type decideFunc func(s *domain.Session) ([]events.Payload, error)

const (
	streamPageSize = 1000
	// maxConflictWait bounds how long one command keeps deciding again after
	// conflicts with other processes' appends. It is a time budget, not a count:
	// a node whose cached state is current appends back to back while the
	// loser must reload first, so on a hot session the loser can lose many
	// rounds in a row before the winner's queue drains.
	maxConflictWait = 10 * time.Second
	// maxBackoff caps the random pause before deciding again after a conflict
	// with another process, which spreads out nodes racing on one session. It
	// is short: a long pause only hands the session to the other node.
	maxBackoff = 5 * time.Millisecond
)

// SessionRepository loads session state and appends decided events.
//
// States are cached in memory (an LRU of up to CacheSize sessions) and caught up
// from the stream's tail, so a command on a long session reads only the events
// it has not seen: a cold session is replayed once, then kept. Commands on one
// session are serialised in this process by the session's own lock, so concurrent local
// senders never conflict; a conflict with another process's append reloads the
// missing events and decides again.
type SessionRepository struct {
	store  EventStore
	policy domain.Policy
	cache  *lru.Cache[string, *sessionEntry]
	lines  *sessionLines
	now    func() time.Time
	newID  func() string
	// committed receives every append once it is durable (the fast path
	// of delivery); nil when nobody listens.
	committed func(events.Committed)
	admission *Admission
	// sealer seals message content before it is appended; nil appends it
	// in clear.
	sealer ContentSealer
}

// ContentSealer seals the content of a payload before it is appended
// (events/sealing.Sealer); other payloads come back unchanged. It fails
// with an error wrapping sealing.ErrUserErased for an erased sender.
type ContentSealer interface {
	Seal(ctx context.Context, p events.Payload) (events.Payload, error)
}

// sessionEntry is a cached session state and the global position of the
// stream's last event, which the fast path hands on with each append.
type sessionEntry struct {
	state    *domain.Session
	position events.Position
}

func newSessionRepository(store EventStore, policy domain.Policy, cacheSize int, now func() time.Time, newID func() string,
	committed func(events.Committed), admission *Admission) (*SessionRepository, error) {
	cache, err := lru.New[string, *sessionEntry](cacheSize)
	if err != nil {
		return nil, fmt.Errorf("session cache: %w", err)
	}
	return &SessionRepository{store: store, policy: policy, cache: cache, lines: newSessionLines(), now: now, newID: newID,
		committed: committed, admission: admission}, nil
}

// Load returns an up-to-date copy of a session's state (an empty state when the
// stream does not exist). It reads the events appended since the cached version,
// so it sees every append that committed before it was called, from any process.
func (r *SessionRepository) Load(ctx context.Context, sessionID string) (*domain.Session, error) {
	var c *domain.Session
	if err := r.View(ctx, sessionID, func(s *domain.Session) { c = s.Clone() }); err != nil {
		return nil, err
	}
	return c, nil
}

// View is Load without the copy, for readers that need a few facts of the
// state (membership, the last seq): it catches the cached state up and calls
// read with it under the session's lock. read must not change the state or
// keep it. A copy costs as much as the state's last 24 hours of messages;
// queries on every pull, sync and typing frame must not pay that.
func (r *SessionRepository) View(ctx context.Context, sessionID string, read func(*domain.Session)) error {
	line := r.lines.join(sessionID)
	defer r.lines.leave(sessionID, line)
	line.mu.Lock()
	defer line.mu.Unlock()
	e, err := r.catchUp(ctx, sessionID, r.cached(sessionID))
	if err != nil {
		return err
	}
	read(e.state)
	return nil
}

// Update decides on the session's state and appends the result with the state's
// version as the expected version, deciding again on fresher state after a
// conflict. It returns a copy of the state after the append. A decision with no
// events appends nothing.
func (r *SessionRepository) Update(ctx context.Context, sessionID string, meta RequestMeta, decide decideFunc) (*domain.Session, error) {
	var out *domain.Session
	err := r.update(ctx, sessionID, meta, decide, func(s *domain.Session) { out = s.Clone() })
	if err != nil {
		return nil, err
	}
	return out, nil
}

// update is Update without the copy: the hot path of sends, acks and recalls.
// Nothing is copied on the way: decide reads the cached state, and the appended
// events are applied to it in place, under the session's lock, which every
// reader of the cache holds too. after, when not nil, reads the state after the
// append, still under the lock; it must not keep it.
//
// Commands on one session that queue up behind its lock are decided and
// appended together (see combine.go).
func (r *SessionRepository) update(ctx context.Context, sessionID string, meta RequestMeta, decide decideFunc, after func(*domain.Session)) error {
	op := r.start(ctx, sessionID, meta, nil, decide, after, false)
	return op.wait()
}

// startExempt is start for a command admission never refuses (a receipt).
func (r *SessionRepository) startExempt(ctx context.Context, sessionID string, meta RequestMeta, gate *Gate,
	decide decideFunc, after func(*domain.Session), async bool) *pendingUpdate {
	return r.begin(ctx, sessionID, meta, gate, decide, after, async, true)
}

// start queues a command on its session and returns it; with async it is
// decided and appended on a goroutine of its own, otherwise on the caller's
// before start returns. Commands started one after the other on one session
// (from one goroutine) are decided in that order. A command the node does not
// admit (see Admission) is answered at once with an *OverloadError.
func (r *SessionRepository) start(ctx context.Context, sessionID string, meta RequestMeta, gate *Gate,
	decide decideFunc, after func(*domain.Session), async bool) *pendingUpdate {
	return r.begin(ctx, sessionID, meta, gate, decide, after, async, false)
}

func (r *SessionRepository) begin(ctx context.Context, sessionID string, meta RequestMeta, gate *Gate,
	decide decideFunc, after func(*domain.Session), async, exempt bool) *pendingUpdate {
	op := &pendingUpdate{ctx: ctx, sessionID: sessionID, meta: meta, decide: decide, after: after, gate: gate,
		queued: time.Now(), finished: make(chan struct{}), exempt: exempt}
	if err := r.admission.enter(gate, exempt); err != nil {
		op.finish(err)
		return op
	}
	op.leave = r.admission.leave
	line := r.lines.join(sessionID)
	line.enqueue(op)
	if async {
		go func() {
			defer r.lines.leave(sessionID, line)
			r.process(line, op)
		}()
	} else {
		defer r.lines.leave(sessionID, line)
		r.process(line, op)
	}
	return op
}

// process takes the session's lock and, unless another command's goroutine
// has answered op meanwhile, decides and appends op with every command of
// its session queued behind it.
func (r *SessionRepository) process(line *sessionLine, op *pendingUpdate) {
	line.mu.Lock()
	defer line.mu.Unlock()
	if op.done {
		return
	}
	batch := line.take()
	if len(batch) > 1 {
		r.updateCombined(op.ctx, op.sessionID, batch)
		return
	}
	op.finish(r.updateLocked(op))
}

// updateLocked decides one command and appends its events; the caller holds
// the session's lock.
func (r *SessionRepository) updateLocked(op *pendingUpdate) error {
	ctx, sessionID, meta, decide, after := op.ctx, op.sessionID, op.meta, op.decide, op.after
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := r.admission.admit(op.queued, op.gate, op.exempt); err != nil {
		return err
	}
	entry := r.cached(sessionID)
	if entry.state.Version == 0 {
		// Unknown here: the stream may exist in the log already.
		var err error
		if entry, err = r.catchUp(ctx, sessionID, entry); err != nil {
			return err
		}
	}
	var conflictsSince time.Time
	for attempt := 1; ; attempt++ {
		payloads, err := decide(entry.state)
		if err != nil {
			return err
		}
		if len(payloads) == 0 {
			if after != nil {
				after(entry.state)
			}
			return nil
		}
		data, envs, err := r.encode(ctx, meta, payloads)
		if err != nil {
			return err
		}
		res, err := r.store.Append(ctx, sessionID, events.ExpectedVersion(entry.state.Version), data)
		if err == nil {
			if res.Duplicate {
				// Our own earlier attempt landed (a retried append); read it back.
				if entry, err = r.catchUp(ctx, sessionID, entry); err != nil {
					return err
				}
			} else {
				for i, p := range payloads {
					entry.state.Apply(res.FirstVersion+int64(i), p)
				}
				r.handOver(entry, res, data, envs)
				r.cache.Add(sessionID, entry)
			}
			if after != nil {
				after(entry.state)
			}
			return nil
		}
		if !errors.Is(err, events.ErrWrongExpectedVersion) {
			return fmt.Errorf("append to session %s: %w", sessionID, err)
		}
		if conflictsSince.IsZero() {
			conflictsSince = time.Now()
		} else if time.Since(conflictsSince) > maxConflictWait {
			return &domain.Error{Kind: domain.KindConflict, Reason: "too many concurrent changes to this session, try again"}
		}
		if err := sleepJitter(ctx, attempt); err != nil {
			return err
		}
		if entry, err = r.catchUp(ctx, sessionID, entry); err != nil {
			return err
		}
	}
}

// handOver gives an append that has just committed to the fast path of
// delivery, as the values it was made of, and moves the entry's position to
// it. The caller holds the session's lock, so appends of one session are
// handed over in version order.
func (r *SessionRepository) handOver(entry *sessionEntry, res events.AppendResult, data []events.EventData, envs []events.Envelope) {
	if r.committed != nil {
		r.committed(events.Committed{StreamID: entry.state.ID, FirstVersion: res.FirstVersion,
			Position: res.Position, Prev: entry.position, Events: data, Envelopes: envs})
	}
	entry.position = res.Position
}

// cached returns the cached entry itself (callers hold the session's lock)
// or a fresh empty one.
func (r *SessionRepository) cached(sessionID string) *sessionEntry {
	if e, ok := r.cache.Get(sessionID); ok {
		return e
	}
	return &sessionEntry{state: domain.NewSession(sessionID, r.policy)}
}

// catchUp applies the events after the entry's version to it, in place (the
// caller holds the session's lock), and caches it.
func (r *SessionRepository) catchUp(ctx context.Context, sessionID string, entry *sessionEntry) (*sessionEntry, error) {
	for {
		recs, err := r.store.ReadStream(ctx, sessionID, entry.state.Version+1, streamPageSize)
		if err != nil {
			return nil, fmt.Errorf("read session %s from version %d: %w", sessionID, entry.state.Version+1, err)
		}
		for _, rec := range recs {
			env, err := events.Decode(rec)
			if err != nil {
				return nil, fmt.Errorf("load session %s: %w", sessionID, err)
			}
			entry.state.Apply(rec.Version, env.Payload)
			entry.position = rec.Position
		}
		if len(recs) < streamPageSize {
			break
		}
	}
	if entry.state.Version > 0 {
		r.cache.Add(sessionID, entry)
	}
	return entry, nil
}

// encode turns payloads into the events to append, their content sealed
// when the repository has a sealer, and the same events as envelopes for
// the fast path, their content in clear (as an opener gives them). An
// erased sender's content is refused as forbidden.
func (r *SessionRepository) encode(ctx context.Context, meta RequestMeta, payloads []events.Payload) ([]events.EventData, []events.Envelope, error) {
	correlation := meta.CorrelationID
	if correlation == "" {
		correlation = r.newID()
	}
	causation := meta.CausationID
	if causation == "" {
		causation = correlation
	}
	now := r.now().UnixMilli()
	out := make([]events.EventData, 0, len(payloads))
	envs := make([]events.Envelope, 0, len(payloads))
	for _, p := range payloads {
		env := events.Envelope{
			Meta: events.Metadata{
				CorrelationID: correlation,
				CausationID:   causation,
				Actor:         meta.Actor,
				OccurredAt:    now,
				SchemaVersion: events.SchemaVersion,
			},
			Payload: p,
		}
		stored := env
		if r.sealer != nil {
			sealed, err := r.sealer.Seal(ctx, p)
			if errors.Is(err, sealing.ErrUserErased) {
				return nil, nil, &domain.Error{Kind: domain.KindForbidden, Reason: "user erased"}
			}
			if err != nil {
				return nil, nil, err
			}
			stored.Payload = sealed
		}
		d, err := events.Encode(stored)
		if err != nil {
			return nil, nil, err
		}
		env.Meta.SchemaVersion = events.SchemaVersionOf(stored.Payload)
		env.Meta.EventID = d.EventID
		out = append(out, d)
		envs = append(envs, env)
	}
	return out, envs, nil
}

// sleepJitter pauses a random time that grows with the attempt, up to
// maxBackoff.
func sleepJitter(ctx context.Context, attempt int) error {
	limit := time.Duration(attempt) * time.Millisecond
	if limit > maxBackoff {
		limit = maxBackoff
	}
	t := time.NewTimer(rand.N(limit + 1))
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
