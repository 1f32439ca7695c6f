package keystore_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tellyou/tellyou/events/keystore"
	"github.com/tellyou/tellyou/events/pgstore/pgtest"
)

func key(b byte) []byte { return bytes.Repeat([]byte{b}, 32) }

func newPool(t *testing.T) *pgxpool.Pool {
	t.Helper()
	pool := pgtest.NewPoolOf(t, 8)
	if err := keystore.Migrate(context.Background(), pool); err != nil {
		t.Fatal(err)
	}
	return pool
}

func newStore(t *testing.T, pool *pgxpool.Pool, cfg keystore.Config) *keystore.Store {
	t.Helper()
	s, err := keystore.New(context.Background(), pool, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

var day1 = time.Date(2026, 12, 1, 23, 59, 0, 0, time.UTC)

func TestConcurrentKeyForCreatesOneKey(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := newPool(t)
	// Separate stores stand for separate processes: no shared cache.
	stores := make([]*keystore.Store, 8)
	for i := range stores {
		stores[i] = newStore(t, pool, keystore.Config{Master: key(1)})
	}
	ids := make([]string, len(stores))
	keys := make([][]byte, len(stores))
	errs := make([]error, len(stores))
	var wg sync.WaitGroup
	for i, s := range stores {
		wg.Go(func() { ids[i], keys[i], errs[i] = s.KeyFor(ctx, "ann", "g:1", day1) })
	}
	wg.Wait()
	for i := range stores {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if ids[i] != ids[0] || !bytes.Equal(keys[i], keys[0]) || len(keys[i]) != 32 {
			t.Fatalf("store %d got key %s, store 0 got %s", i, ids[i], ids[0])
		}
	}
	var n int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM tellyou_data_keys`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("%d keys stored (%v), want 1", n, err)
	}
	// The next UTC day, another session and another sender each get their own.
	for _, c := range []struct {
		user, session string
		at            time.Time
	}{
		{"ann", "g:1", day1.Add(time.Minute)}, {"ann", "g:2", day1}, {"bob", "g:1", day1},
	} {
		id, _, err := stores[0].KeyFor(ctx, c.user, c.session, c.at)
		if err != nil || id == ids[0] {
			t.Fatalf("KeyFor(%s, %s, %v) = %s, %v; want a key of its own", c.user, c.session, c.at, id, err)
		}
	}
	got, err := stores[3].Key(ctx, ids[0])
	if err != nil || !bytes.Equal(got, keys[0]) {
		t.Fatalf("Key = %x, %v", got, err)
	}
}

func TestEraseUserShredsKeys(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := newPool(t)
	s := newStore(t, pool, keystore.Config{Master: key(1)})
	other := newStore(t, pool, keystore.Config{Master: key(1), CacheTTL: time.Nanosecond})
	annID, _, err := s.KeyFor(ctx, "ann", "g:1", day1)
	if err != nil {
		t.Fatal(err)
	}
	bobID, _, _ := s.KeyFor(ctx, "bob", "g:1", day1)
	if _, err := other.Key(ctx, annID); err != nil {
		t.Fatal(err)
	}
	if erased, err := s.IsErased(ctx, "ann"); err != nil || erased {
		t.Fatalf("IsErased before = %v, %v", erased, err)
	}
	if err := s.EraseUser(ctx, "ann"); err != nil {
		t.Fatal(err)
	}
	if err := s.EraseUser(ctx, "ann"); err != nil {
		t.Fatalf("second erase: %v", err)
	}
	for name, st := range map[string]*keystore.Store{"erasing store": s, "other store after its TTL": other} {
		if _, err := st.Key(ctx, annID); !errors.Is(err, keystore.ErrKeyShredded) {
			t.Errorf("%s: Key(erased) = %v, want ErrKeyShredded", name, err)
		}
		if _, err := st.Key(ctx, bobID); err != nil {
			t.Errorf("%s: Key(bob) = %v", name, err)
		}
		if _, _, err := st.KeyFor(ctx, "ann", "g:9", day1); !errors.Is(err, keystore.ErrUserErased) {
			t.Errorf("%s: KeyFor(erased) = %v, want ErrUserErased", name, err)
		}
	}
	if erased, err := s.IsErased(ctx, "ann"); err != nil || !erased {
		t.Fatalf("IsErased after = %v, %v", erased, err)
	}
	if _, err := s.Key(ctx, "not-a-uuid"); !errors.Is(err, keystore.ErrKeyShredded) {
		t.Fatalf("Key(garbage) = %v, want ErrKeyShredded", err)
	}
}

// Many keys created at once (they share batches) each come back as the key
// stored for their own period.
func TestConcurrentCreationsGetTheirOwnKeys(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := newPool(t)
	s := newStore(t, pool, keystore.Config{Master: key(1)})
	const n = 300
	type got struct {
		id  string
		key []byte
	}
	keys := make([]got, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			id, k, err := s.KeyFor(ctx, fmt.Sprintf("user%d", i%50), fmt.Sprintf("g:%d", i), day1)
			if err != nil {
				t.Errorf("KeyFor %d: %v", i, err)
			}
			keys[i] = got{id, k}
		})
	}
	wg.Wait()
	fresh := newStore(t, pool, keystore.Config{Master: key(1)})
	seen := map[string]bool{}
	for i, g := range keys {
		id, k, err := fresh.KeyFor(ctx, fmt.Sprintf("user%d", i%50), fmt.Sprintf("g:%d", i), day1)
		if err != nil || id != g.id || !bytes.Equal(k, g.key) {
			t.Fatalf("period %d: stored %s, %v; KeyFor gave %s", i, id, err, g.id)
		}
		if seen[id] {
			t.Fatalf("key %s given to two periods", id)
		}
		seen[id] = true
	}
}

// Keys created while the user's erasure commits never outlive it: each
// creation either commits before the erasure (and is deleted by it) or sees
// it and refuses.
func TestNoKeySurvivesAConcurrentErasure(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := newPool(t)
	s := newStore(t, pool, keystore.Config{Master: key(1)})
	var wg sync.WaitGroup
	start := make(chan struct{})
	for g := range 4 {
		wg.Go(func() {
			<-start
			for i := range 50 {
				_, _, err := s.KeyFor(ctx, "ann", fmt.Sprintf("g:%d-%d", g, i), day1)
				if err != nil && !errors.Is(err, keystore.ErrUserErased) {
					t.Errorf("KeyFor: %v", err)
					return
				}
			}
		})
	}
	close(start)
	time.Sleep(5 * time.Millisecond)
	if err := s.EraseUser(ctx, "ann"); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	var left int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM tellyou_data_keys WHERE user_id = 'ann'`).Scan(&left); err != nil {
		t.Fatal(err)
	}
	if left != 0 {
		t.Fatalf("%d keys of ann after her erasure", left)
	}
	if _, _, err := s.KeyFor(ctx, "ann", "g:new", day1); !errors.Is(err, keystore.ErrUserErased) {
		t.Fatalf("KeyFor after the erasure = %v, want ErrUserErased", err)
	}
}

func TestShredSessionBeforeDeletesWholeDays(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := newPool(t)
	s := newStore(t, pool, keystore.Config{Master: key(1)})
	old, _, _ := s.KeyFor(ctx, "ann", "g:1", day1)                    // Dec 1
	today, _, _ := s.KeyFor(ctx, "ann", "g:1", day1.Add(2*time.Hour)) // Dec 2
	elsewhere, _, _ := s.KeyFor(ctx, "ann", "g:2", day1)
	// Dec 2 at noon: Dec 1 lies wholly before it, Dec 2 does not.
	if err := s.ShredSessionBefore(ctx, "g:1", day1.Add(12*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Key(ctx, old); !errors.Is(err, keystore.ErrKeyShredded) {
		t.Fatalf("Key(Dec 1) = %v, want ErrKeyShredded", err)
	}
	for _, id := range []string{today, elsewhere} {
		if _, err := s.Key(ctx, id); err != nil {
			t.Fatalf("Key(%s) = %v, want it kept", id, err)
		}
	}
}

func TestRotateMasterKeepsKeysOpen(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := newPool(t)
	s := newStore(t, pool, keystore.Config{Master: key(1)})
	want := map[string][]byte{}
	for _, u := range []string{"ann", "bob", "cat", "dan", "eve"} {
		id, k, err := s.KeyFor(ctx, u, "g:1", day1)
		if err != nil {
			t.Fatal(err)
		}
		want[id] = k
	}
	n, err := s.RotateMaster(ctx, key(2), 2)
	if err != nil || n != len(want) {
		t.Fatalf("RotateMaster = %d, %v; want %d", n, err, len(want))
	}
	if n, err := s.RotateMaster(ctx, key(2), 2); err != nil || n != 0 {
		t.Fatalf("second RotateMaster = %d, %v; want 0", n, err)
	}
	// The old master alone no longer opens anything: refused at start.
	if _, err := keystore.New(ctx, pool, keystore.Config{Master: key(1)}); !errors.Is(err, keystore.ErrWrongMaster) {
		t.Fatalf("New with the old master = %v, want ErrWrongMaster", err)
	}
	for _, cfg := range []keystore.Config{{Master: key(2)}, {Master: key(2), PreviousMaster: key(1)}} {
		fresh := newStore(t, pool, cfg)
		for id, k := range want {
			got, err := fresh.Key(ctx, id)
			if err != nil || !bytes.Equal(got, k) {
				t.Fatalf("after rotation Key(%s) = %x, %v; want %x", id, got, err, k)
			}
		}
	}
}

func TestWrongMasterIsRefused(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := newPool(t)
	s := newStore(t, pool, keystore.Config{Master: key(1)})
	if _, _, err := s.KeyFor(ctx, "ann", "g:1", day1); err != nil {
		t.Fatal(err)
	}
	_, err := keystore.New(ctx, pool, keystore.Config{Master: key(7)})
	if !errors.Is(err, keystore.ErrWrongMaster) {
		t.Fatalf("New with a wrong master = %v, want ErrWrongMaster", err)
	}
	for _, bad := range []keystore.Config{{Master: key(1)[:16]}, {Master: nil}, {Master: key(1), PreviousMaster: []byte("short")}} {
		if _, err := keystore.New(ctx, pool, bad); err == nil {
			t.Errorf("New accepted master %d bytes, previous %d bytes", len(bad.Master), len(bad.PreviousMaster))
		}
	}
}

func TestLoadOrCreateMasterIsStable(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := newPool(t)
	a, err := keystore.LoadOrCreateMaster(ctx, pool)
	if err != nil {
		t.Fatal(err)
	}
	b, err := keystore.LoadOrCreateMaster(ctx, pool)
	if err != nil || !bytes.Equal(a, b) || len(a) != 32 {
		t.Fatalf("second load = %x, %v; first %x", b, err, a)
	}
}
