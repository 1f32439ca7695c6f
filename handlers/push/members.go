package push

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/tellyou/tellyou/domain"
	"github.com/tellyou/tellyou/events"
)

// memberLookupAttempts bounds the tries of a member lookup; after them the
// event is not pushed (clients get it by sync) rather than holding up every
// other session's pushes.
const memberLookupAttempts = 4

// sessionMembers returns the session's members: a direct session's from its
// id, a group's from the cache or else from Members. Only the events
// goroutine may store (cache), so that the cache follows the log's order.
func (h *Hub) sessionMembers(ctx context.Context, sessionID string, cache bool) ([]string, bool) {
	kind, err := domain.SessionKind(sessionID)
	if err != nil {
		return nil, false
	}
	if kind == events.KindDirect {
		a, b, _ := strings.Cut(strings.TrimPrefix(sessionID, "d:"), ":")
		return []string{a, b}, true
	}
	if m, ok := h.members.Get(sessionID); ok {
		return m, true
	}
	backoff := 50 * time.Millisecond
	for attempt := 1; ; attempt++ {
		m, err := h.cfg.Members.Members(ctx, sessionID)
		if err == nil {
			m = normalize(m)
			if cache {
				h.members.Add(sessionID, m)
			}
			return m, true
		}
		if attempt == memberLookupAttempts || ctx.Err() != nil {
			h.cfg.Logger.Warn("push hub: cannot resolve session members, not pushing", "session", sessionID, "err", err)
			return nil, false
		}
		if !sleep(ctx, backoff) {
			return nil, false
		}
		backoff *= 2
	}
}

// normalize returns the ids sorted without repeats, in a new slice.
func normalize(ids []string) []string {
	out := slices.Clone(ids)
	slices.Sort(out)
	return slices.Compact(out)
}

// without returns ids minus remove, in a new slice.
func without(ids, remove []string) []string {
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		if !slices.Contains(remove, id) {
			out = append(out, id)
		}
	}
	return out
}
