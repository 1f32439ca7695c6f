package delivery

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/tellyou/tellyou/domain"
	"github.com/tellyou/tellyou/events"
)

// sessionMembers returns the session's members: a direct session's from its
// id, a group's from the shard's cache or else from Members (one try: the
// shard retries the event). Only the shard's own goroutine stores in the
// cache, so that it follows the session's order.
func (sh *shard) sessionMembers(ctx context.Context, sessionID string) ([]string, error) {
	return sh.lookupMembers(ctx, sessionID, true)
}

// lookupMembers is sessionMembers; store tells whether a looked-up list goes
// into the cache.
func (sh *shard) lookupMembers(ctx context.Context, sessionID string, store bool) ([]string, error) {
	kind, err := domain.SessionKind(sessionID)
	if err != nil {
		return nil, err
	}
	if kind == events.KindDirect {
		a, b, _ := strings.Cut(strings.TrimPrefix(sessionID, "d:"), ":")
		return []string{a, b}, nil
	}
	if m, ok := sh.members.Get(sessionID); ok {
		return m, nil
	}
	m, err := sh.hub.cfg.Members.Members(ctx, sessionID)
	if err != nil {
		return nil, fmt.Errorf("resolve members of %s: %w", sessionID, err)
	}
	m = normalize(m)
	if store {
		sh.members.Add(sessionID, m)
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
