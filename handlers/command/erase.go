package command

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/tellyou/tellyou/domain"
	"github.com/tellyou/tellyou/events"
)

// KeyEraser deletes the data keys that a user's content is sealed with, so
// that the content in the log can never be opened again. The keystore
// implements it. EraseUser must be idempotent: it is called again by every
// later erasure of the same user, which finishes a deletion that a crash
// interrupted.
type KeyEraser interface {
	EraseUser(ctx context.Context, userID string) error
}

// EraseUser asks that everything a user said be forgotten.
type EraseUser struct {
	Meta RequestMeta
	// ActorIsAdmin is true when the actor holds the admin role.
	ActorIsAdmin bool
	// UserID is the user to erase.
	UserID string
}

// Erasure is the outcome of an erasure: the first erasure of the user, which
// a repeated request answers again.
type Erasure struct {
	UserID string `json:"userId"`
	// By is the user who asked for the first erasure.
	By string `json:"by"`
	// ErasedAt is the server time of the first erasure, ms since the Unix
	// epoch.
	ErasedAt int64 `json:"erasedAt"`
	// Repeated is true when the user had been erased already and nothing was
	// appended.
	Repeated bool `json:"-"`
}

// EraseConfig holds the dependencies of the erase handler.
type EraseConfig struct {
	Store EventStore
	// Keys deletes the user's data keys; required.
	Keys KeyEraser
	// Now is the server clock (default time.Now).
	Now func() time.Time
}

// EraseHandler appends UserErased events and deletes the erased user's keys.
//
// Order: the event is appended first, then the keys are deleted. The event is
// the audit record and what makes every read model blank the user's
// messages; appending it first means that no key is ever gone without the log
// saying who had it deleted and when. A process that dies between the two
// leaves keys behind, but the erasure is not lost: repeating it (the route,
// the command, or a retry of either) finds the event, appends nothing and
// deletes the keys again, which the keystore does idempotently. Deleting
// first would instead risk content that can no longer be opened with no
// record in the log of why.
type EraseHandler struct {
	store EventStore
	keys  KeyEraser
	now   func() time.Time
}

// NewEraseHandler returns an erase handler; it refuses a missing store or key
// eraser.
func NewEraseHandler(cfg EraseConfig) (*EraseHandler, error) {
	if cfg.Store == nil {
		return nil, errors.New("erase handler: no event store")
	}
	if cfg.Keys == nil {
		return nil, errors.New("erase handler: no key eraser")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &EraseHandler{store: cfg.Store, keys: cfg.Keys, now: cfg.Now}, nil
}

// Handle erases cmd.UserID when the actor may, and returns the user's first
// erasure. Erasing a user again appends nothing and answers the first
// erasure, after deleting the keys again. Refusals are *domain.Error values.
func (h *EraseHandler) Handle(ctx context.Context, cmd EraseUser) (Erasure, error) {
	ev, err := domain.DecideErase(domain.EraseCommand{Actor: cmd.Meta.Actor, ActorIsAdmin: cmd.ActorIsAdmin,
		UserID: cmd.UserID, Now: h.now().UnixMilli()})
	if err != nil {
		return Erasure{}, err
	}
	erasure, err := h.record(ctx, cmd.Meta, ev)
	if err != nil {
		return Erasure{}, err
	}
	if err := h.keys.EraseUser(ctx, cmd.UserID); err != nil {
		return Erasure{}, fmt.Errorf("erase the keys of %s (the erasure is logged; repeat it to finish): %w", cmd.UserID, err)
	}
	return erasure, nil
}

// record appends ev as the first event of the user's stream, or reads back
// the erasure already there.
func (h *EraseHandler) record(ctx context.Context, meta RequestMeta, ev events.UserErased) (Erasure, error) {
	stream := events.UserStreamPrefix + ev.UserID
	correlation := meta.CorrelationID
	if correlation == "" {
		correlation = uuid.NewString()
	}
	causation := meta.CausationID
	if causation == "" {
		causation = correlation
	}
	data, err := events.Encode(events.Envelope{Payload: ev, Meta: events.Metadata{
		CorrelationID: correlation, CausationID: causation, Actor: meta.Actor, OccurredAt: ev.ErasedAt,
	}})
	if err != nil {
		return Erasure{}, err
	}
	_, err = h.store.Append(ctx, stream, events.NoStream, []events.EventData{data})
	switch {
	case err == nil:
		return Erasure{UserID: ev.UserID, By: ev.By, ErasedAt: ev.ErasedAt}, nil
	case !errors.Is(err, events.ErrWrongExpectedVersion):
		return Erasure{}, fmt.Errorf("append to %s: %w", stream, err)
	}
	first, err := FirstErasure(ctx, h.store, ev.UserID)
	if err != nil {
		return Erasure{}, err
	}
	first.Repeated = true
	return first, nil
}

// ErrNotErased is matched by the error of FirstErasure for a user never
// erased.
var ErrNotErased = errors.New("user not erased")

// FirstErasure reads the first UserErased of a user's stream.
func FirstErasure(ctx context.Context, store EventStore, userID string) (Erasure, error) {
	stream := events.UserStreamPrefix + userID
	recs, err := store.ReadStream(ctx, stream, 1, streamPageSize)
	if err != nil {
		return Erasure{}, fmt.Errorf("read %s: %w", stream, err)
	}
	for _, r := range recs {
		if r.Type != events.TypeUserErased {
			continue
		}
		env, err := events.Decode(r)
		if err != nil {
			return Erasure{}, err
		}
		e := env.Payload.(events.UserErased)
		return Erasure{UserID: e.UserID, By: e.By, ErasedAt: e.ErasedAt}, nil
	}
	return Erasure{}, fmt.Errorf("%s: %w", stream, ErrNotErased)
}
