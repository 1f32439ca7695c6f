package command

import (
	"context"
	"time"

	"github.com/tellyou/tellyou/domain"
	"github.com/tellyou/tellyou/events"
)

// Combining: commands on one session are serialised by its lock, and each
// holds the lock for a whole append (a round trip and a commit). On a busy
// session (a large group whose members ack as they read) commands pile up
// behind the lock, each waiting for every earlier one's commit. Instead, the
// goroutine that gets the lock takes every command of that session waiting
// behind it, decides them one after the other on the state (each on the
// state the earlier ones' events left), and appends all their events at once.
// Each command keeps its own answer and its own event metadata. If the
// combined append fails, the state built on it is dropped and each command
// runs again on its own, exactly as it would have alone: decisions are
// idempotent (a repeated send is answered as a duplicate, a repeated ack
// moves nothing), so a combined append that committed after all is harmless.

// maxCombined bounds the commands decided and appended together.
const maxCombined = 64

// combinedAppendTimeout bounds a combined append, whose context no single
// command's end may cancel.
const combinedAppendTimeout = 10 * time.Second

// pendingUpdate is one command waiting for its session's lock. done and err
// are written under the session line's lock; finished is closed once they are, so
// that its caller may wait without the lock.
type pendingUpdate struct {
	ctx       context.Context
	sessionID string
	meta      RequestMeta
	decide    decideFunc
	after     func(*domain.Session)
	// gate is the client's line of commands (nil for none), queued when the
	// command was queued: see Admission.
	gate   *Gate
	queued time.Time
	// exempt marks a receipt, which admission never refuses.
	exempt bool

	done     bool
	err      error
	finished chan struct{}
	// leave counts the command out of the admission once answered.
	leave func()
}

// finish answers the command; the caller holds the session line's lock.
func (op *pendingUpdate) finish(err error) {
	if op.done {
		return
	}
	op.err, op.done = err, true
	if op.leave != nil {
		op.leave()
	}
	close(op.finished)
}

// wait blocks until the command is answered and returns its error.
func (op *pendingUpdate) wait() error {
	<-op.finished
	return op.err
}

// updateCombined decides the commands of batch in order and appends their
// events in one append; the caller holds the session's lock. It answers every
// command of batch.
func (r *SessionRepository) updateCombined(ctx context.Context, sessionID string, batch []*pendingUpdate) {
	if r.appendCombined(ctx, sessionID, batch) {
		return
	}
	// The state the decisions were made on is not the log's: drop it, and let
	// each command decide again, alone, on the state read back from the log.
	r.cache.Remove(sessionID)
	for _, op := range batch {
		if !op.done {
			op.finish(r.updateLocked(op))
		}
	}
}

// appendCombined is updateCombined's common case. It reports false, having
// answered only commands whose context had ended, when the combined append
// could not be made; the cached state may then hold events that are not in
// the log.
func (r *SessionRepository) appendCombined(ctx context.Context, sessionID string, batch []*pendingUpdate) bool {
	entry := r.cached(sessionID)
	if entry.state.Version == 0 {
		var err error
		if entry, err = r.catchUp(ctx, sessionID, entry); err != nil {
			return false
		}
	}
	state := entry.state
	base := state.Version
	var all []events.EventData
	var envs []events.Envelope
	for _, op := range batch {
		if err := op.ctx.Err(); err != nil {
			op.finish(err)
			continue
		}
		if err := r.admission.admit(op.queued, op.gate, op.exempt); err != nil {
			op.finish(err)
			continue
		}
		payloads, err := op.decide(state)
		if err != nil {
			op.err = err
			continue
		}
		if len(payloads) == 0 {
			continue
		}
		data, opEnvs, err := r.encode(op.ctx, op.meta, payloads)
		if err != nil {
			op.err = err
			continue
		}
		for _, p := range payloads {
			state.Apply(state.Version+1, p)
		}
		all = append(all, data...)
		envs = append(envs, opEnvs...)
	}
	if len(all) > 0 {
		// The append carries other clients' commands too: the end of the
		// context of the one that took the lock (its client left, its
		// frame timed out) must not cut it short, leaving the others to
		// find their own message already stored.
		appendCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), combinedAppendTimeout)
		res, err := r.store.Append(appendCtx, sessionID, events.ExpectedVersion(base), all)
		cancel()
		if err != nil || res.Duplicate || res.LastVersion != state.Version {
			return false
		}
		r.handOver(entry, res, all, envs)
		r.cache.Add(sessionID, entry)
	}
	for _, op := range batch {
		if op.done {
			continue
		}
		if op.err == nil && op.after != nil {
			op.after(state)
		}
		op.finish(op.err)
	}
	return true
}
