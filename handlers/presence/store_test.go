package presence_test

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/tellyou/tellyou/events/pgstore/pgtest"
	"github.com/tellyou/tellyou/handlers/presence"
	"github.com/tellyou/tellyou/readmodels"
)

// newStore returns a Store on a fresh database with the read models' and
// presence's tables, and a function that makes userIDs members of session.
func newStore(t *testing.T) (*presence.Store, func(session string, userIDs ...string)) {
	t.Helper()
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	if err := readmodels.Migrate(ctx, pool); err != nil {
		t.Fatal(err)
	}
	if err := presence.Migrate(ctx, pool); err != nil {
		t.Fatal(err)
	}
	join := func(session string, userIDs ...string) {
		t.Helper()
		if _, err := pool.Exec(ctx, `INSERT INTO rm_members (session_id, user_id) SELECT $1, unnest($2::text[])`, session, userIDs); err != nil {
			t.Fatal(err)
		}
	}
	return presence.NewStore(pool), join
}

func TestPeersCountSessionsUpToTheCapOnly(t *testing.T) {
	t.Parallel()
	store, join := newStore(t)
	join("d:ann:bob", "ann", "bob")
	join("g:small", "ann", "cat", "dan")
	big := []string{"ann", "eve"}
	for i := range 4 {
		big = append(big, fmt.Sprintf("u%d", i))
	}
	join("g:big", big...) // 6 members
	peers, err := store.Peers(context.Background(), []string{"ann", "eve", "zed"}, 5)
	if err != nil {
		t.Fatal(err)
	}
	ann := slices.Sorted(slices.Values(peers["ann"]))
	if !slices.Equal(ann, []string{"bob", "cat", "dan"}) {
		t.Errorf("ann's peers = %v, want bob, cat, dan (not the 6-member group's)", ann)
	}
	if len(peers["eve"]) != 0 || len(peers["zed"]) != 0 {
		t.Errorf("eve (only in a group past the cap) and zed (in none) have peers: %v", peers)
	}
	if peers, err = store.Peers(context.Background(), []string{"eve"}, 6); err != nil || len(peers["eve"]) != 5 {
		t.Errorf("eve's peers with a cap of 6 = %v (%v), want the 5 others", peers["eve"], err)
	}
}

func TestSharingIgnoresTheCap(t *testing.T) {
	t.Parallel()
	store, join := newStore(t)
	join("g:one", "ann", "bob")
	join("g:two", "cat", "dan")
	got, err := store.Sharing(context.Background(), "ann", []string{"bob", "cat"})
	if err != nil {
		t.Fatal(err)
	}
	if !got["bob"] || got["cat"] {
		t.Errorf("ann shares with %v, want bob only", got)
	}
}

func TestLastSeenNeverMovesBack(t *testing.T) {
	t.Parallel()
	store, _ := newStore(t)
	ctx := context.Background()
	for _, batch := range []map[string]int64{{"ann": 200, "bob": 100}, {"ann": 150, "bob": 300}} {
		if err := store.SaveLastSeen(ctx, batch); err != nil {
			t.Fatal(err)
		}
	}
	got, err := store.LastSeen(ctx, []string{"ann", "bob", "cat"})
	if err != nil {
		t.Fatal(err)
	}
	if got["ann"] != 200 || got["bob"] != 300 || len(got) != 2 {
		t.Errorf("last seen = %v, want ann 200, bob 300 and no cat", got)
	}
}
