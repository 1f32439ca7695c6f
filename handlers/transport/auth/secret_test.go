package auth_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/tellyou/tellyou/events/pgstore/pgtest"
	"github.com/tellyou/tellyou/handlers/transport/auth"
)

func TestGeneratedSecretIsSharedByRacingNodes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	if err := auth.Migrate(ctx, pool); err != nil {
		t.Fatal(err)
	}
	if _, err := auth.LoadSecret(ctx, pool); !errors.Is(err, auth.ErrNoSecret) {
		t.Fatalf("LoadSecret on a new database = %v, want ErrNoSecret", err)
	}
	const nodes = 8
	got := make([][]byte, nodes)
	var wg sync.WaitGroup
	for i := range nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := auth.LoadOrCreateSecret(ctx, pool)
			if err != nil {
				t.Error(err)
			}
			got[i] = s
		}()
	}
	wg.Wait()
	for i := range got {
		if len(got[i]) < auth.MinSecretBytes || string(got[i]) != string(got[0]) {
			t.Fatalf("node %d got secret %q, node 0 got %q", i, got[i], got[0])
		}
	}
	again, err := auth.LoadSecret(ctx, pool)
	if err != nil || string(again) != string(got[0]) {
		t.Fatalf("LoadSecret after creation = %q, %v", again, err)
	}
}
