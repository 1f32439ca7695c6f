package domain

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// Policy holds the tunable limits of the session rules. The zero value is not
// usable: start from DefaultPolicy and check changes with Validate. The
// decisions assume a valid policy.
type Policy struct {
	// RecallWindow is how long after its server timestamp a message may be
	// recalled by its sender (inclusive). Default 2 minutes.
	RecallWindow time.Duration
	// EditWindow is how long after its server timestamp a message may be
	// edited by its sender (inclusive). Default 15 minutes.
	EditWindow time.Duration
	// MaxClockSkew is how far a client timestamp may be from the server clock
	// (inclusive) and still be used as the adjusted timestamp. Default 60 s.
	MaxClockSkew time.Duration
	// DedupWindow is how long a (sender, clientMessageId) stays known to the
	// state: a duplicate send within it is answered with the original message.
	// Default 24 hours.
	DedupWindow time.Duration
	// MaxContentBytes bounds a message's content, in bytes. Default 32768.
	MaxContentBytes int
	// MaxExtBytes bounds a message's ext (a JSON object), in bytes. Default 4096.
	MaxExtBytes int
	// MaxGroupMembers bounds the members of a group, creator included.
	// Default 1000.
	MaxGroupMembers int
	// MaxTitleBytes bounds a group's title, in bytes. Default 200.
	MaxTitleBytes int
	// MaxEmojiBytes bounds a reaction's emoji, in bytes. Default 32.
	MaxEmojiBytes int
	// MaxReactionEmojis bounds the distinct emojis of the reactions on one
	// message. Default 20.
	MaxReactionEmojis int
}

// DefaultPolicy returns the limits the wire contract documents.
func DefaultPolicy() Policy {
	return Policy{
		RecallWindow:      2 * time.Minute,
		EditWindow:        15 * time.Minute,
		MaxClockSkew:      60 * time.Second,
		DedupWindow:       24 * time.Hour,
		MaxContentBytes:   32 << 10,
		MaxExtBytes:       4 << 10,
		MaxGroupMembers:   1000,
		MaxTitleBytes:     200,
		MaxEmojiBytes:     32,
		MaxReactionEmojis: 20,
	}
}

// Validate reports every limit that is not positive. A group must have room
// for at least two members. Windows are used at millisecond precision, so they
// must be at least a millisecond.
func (p Policy) Validate() error {
	var errs []error
	durations := []struct {
		name string
		d    time.Duration
	}{
		{"RecallWindow", p.RecallWindow},
		{"EditWindow", p.EditWindow},
		{"MaxClockSkew", p.MaxClockSkew},
		{"DedupWindow", p.DedupWindow},
	}
	for _, f := range durations {
		if f.d < time.Millisecond {
			errs = append(errs, fmt.Errorf("policy: %s must be at least 1ms, got %v", f.name, f.d))
		}
	}
	sizes := []struct {
		name string
		n    int
		min  int
	}{
		{"MaxContentBytes", p.MaxContentBytes, 1},
		{"MaxExtBytes", p.MaxExtBytes, 2}, // "{}"
		{"MaxGroupMembers", p.MaxGroupMembers, 2},
		{"MaxTitleBytes", p.MaxTitleBytes, 1},
		{"MaxEmojiBytes", p.MaxEmojiBytes, 1},
		{"MaxReactionEmojis", p.MaxReactionEmojis, 1},
	}
	for _, f := range sizes {
		if f.n < f.min {
			errs = append(errs, fmt.Errorf("policy: %s must be at least %d, got %d", f.name, f.min, f.n))
		}
	}
	return errors.Join(errs...)
}

// recallMargin is how much longer than the recall and edit windows the state
// keeps a message by id. Messages leave by the newest message's server
// timestamp, while a recall or an edit is decided by the clock of the node
// that receives it; the margin keeps every message within the windows known
// to a node whose clock is up to a minute behind the one that stamped the
// newest message. It also gives the read models a minute to apply a recall
// before the state forgets it: a repeated recall of a message the state no
// longer knows is answered from the read side.
const recallMargin = time.Minute

// recallRetention is how long behind the newest message the state keeps a
// message by id, for recalls, edits, reactions and replies: the longer of the
// recall and edit windows, and recallMargin. A message the state does not know
// is therefore outside both windows (while the servers' clocks agree within
// recallMargin).
func (p Policy) recallRetention() time.Duration {
	w := max(p.RecallWindow, p.EditWindow)
	if w > math.MaxInt64-recallMargin {
		return math.MaxInt64
	}
	return w + recallMargin
}

// retention is how long behind the newest message the state keeps messages
// and dedup keys: long enough for dedup and for decisions by id.
func (p Policy) retention() time.Duration {
	return max(p.DedupWindow, p.recallRetention())
}
