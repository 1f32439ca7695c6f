package push

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/tellyou/tellyou/domain"
	"github.com/tellyou/tellyou/events"
)

// sessionMembers returns the session's members: a direct session's from its
// id, a group's from the cache or else from Members (one try: the router
// retries the event). Only the events handler may store (cache), so that the
// cache follows the log's order.
func (h *Hub) sessionMembers(ctx context.Context, sessionID string, cache bool) ([]string, error) {
	kind, err := domain.SessionKind(sessionID)
	if err != nil {
		return nil, err
	}
	if kind == events.KindDirect {
		a, b, _ := strings.Cut(strings.TrimPrefix(sessionID, "d:"), ":")
		return []string{a, b}, nil
	}
	if m, ok := h.members.Get(sessionID); ok {
		return m, nil
	}
	m, err := h.cfg.Members.Members(ctx, sessionID)
	if err != nil {
		return nil, fmt.Errorf("resolve members of %s: %w", sessionID, err)
	}
	m = normalize(m)
	if cache {
		h.members.Add(sessionID, m)
	}
	return m, nil
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
