package keystore

import (
	"sync"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
)

// dataKey is one unwrapped data key and the period it covers.
type dataKey struct {
	id        string
	key       []byte
	userID    string
	sessionID string
	day       string // YYYY-MM-DD, UTC
	fetched   time.Time
}

// keyCache holds recently used data keys by id and by period, each for at
// most ttl: an erasure or a shred on another node reaches this one within ttl.
type keyCache struct {
	ttl      time.Duration
	now      func() time.Time
	mu       sync.Mutex // makes a drop atomic across both maps
	gen      uint64     // counts drops; a key read before a drop is not added after it
	byID     *lru.Cache[string, *dataKey]
	byPeriod *lru.Cache[string, *dataKey]
}

func newKeyCache(size int, ttl time.Duration, now func() time.Time) (*keyCache, error) {
	byID, err := lru.New[string, *dataKey](size)
	if err != nil {
		return nil, err
	}
	byPeriod, err := lru.New[string, *dataKey](size)
	if err != nil {
		return nil, err
	}
	return &keyCache{ttl: ttl, now: now, byID: byID, byPeriod: byPeriod}, nil
}

func periodKey(userID, sessionID, day string) string {
	return userID + "\x00" + sessionID + "\x00" + day
}

func (c *keyCache) fresh(k *dataKey) bool { return c.now().Sub(k.fetched) < c.ttl }

func (c *keyCache) byKeyID(id string) (*dataKey, bool) {
	k, ok := c.byID.Get(id)
	if !ok || !c.fresh(k) {
		return nil, false
	}
	return k, true
}

func (c *keyCache) forPeriod(userID, sessionID, day string) (*dataKey, bool) {
	k, ok := c.byPeriod.Get(periodKey(userID, sessionID, day))
	if !ok || !c.fresh(k) {
		return nil, false
	}
	return k, true
}

// generation is the drop count, taken before a key is read from the
// database and handed to add.
func (c *keyCache) generation() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gen
}

// add caches k unless a drop happened since gen was taken: the key may be
// one that drop shredded.
func (c *keyCache) add(k *dataKey, gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen != gen {
		return
	}
	c.byID.Add(k.id, k)
	c.byPeriod.Add(periodKey(k.userID, k.sessionID, k.day), k)
}

// drop removes every key for which match holds.
func (c *keyCache) drop(match func(*dataKey) bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	for _, id := range c.byID.Keys() {
		if k, ok := c.byID.Peek(id); ok && match(k) {
			c.byID.Remove(id)
		}
	}
	for _, p := range c.byPeriod.Keys() {
		if k, ok := c.byPeriod.Peek(p); ok && match(k) {
			c.byPeriod.Remove(p)
		}
	}
}
