// Package keystore keeps the data keys that seal message content in the
// event log, in PostgreSQL, each wrapped by a master key. A data key covers
// one sender's messages in one session on one UTC day (a period key), so
// forgetting is deleting rows: a user's erasure deletes all of the user's
// keys, a session's retention deletes its whole past days. See SECURITY.md.
package keystore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tellyou/tellyou/events/sealing"
)

// ErrKeyShredded means a data key was deleted (its user erased, its period
// past retention) or never existed: the content sealed under it is gone.
var ErrKeyShredded = sealing.ErrKeyShredded

// ErrUserErased means the user was erased: no content of theirs is sealed
// again.
var ErrUserErased = sealing.ErrUserErased

// ErrWrongMaster means a data key is wrapped by a master key the store was
// not given (neither Master nor PreviousMaster).
var ErrWrongMaster = errors.New("data key wrapped by an unknown master key")

// Config configures a Store.
type Config struct {
	// Master is the 32-byte master key that wraps new data keys. Required.
	Master []byte
	// PreviousMaster, when set, still unwraps data keys wrapped before a
	// rotation (see RotateMaster).
	PreviousMaster []byte
	// CacheSize is how many data keys stay unwrapped in memory (default
	// 10,000).
	CacheSize int
	// CacheTTL is how long a cached key is used without asking the database
	// again (default 10 min). It bounds how long another node keeps opening
	// content after an erasure or a shred made elsewhere.
	CacheTTL time.Duration
	// Now is the clock of the cache (default time.Now).
	Now func() time.Time
}

func (c *Config) setDefaults() {
	if c.CacheSize <= 0 {
		c.CacheSize = 10000
	}
	if c.CacheTTL <= 0 {
		c.CacheTTL = 10 * time.Minute
	}
	if c.Now == nil {
		c.Now = time.Now
	}
}

// Validate reports bad keys.
func (c Config) Validate() error {
	if len(c.Master) != sealing.KeySize {
		return fmt.Errorf("keystore config: master key of %d bytes, want %d", len(c.Master), sealing.KeySize)
	}
	if c.PreviousMaster != nil && len(c.PreviousMaster) != sealing.KeySize {
		return fmt.Errorf("keystore config: previous master key of %d bytes, want %d", len(c.PreviousMaster), sealing.KeySize)
	}
	return nil
}

// Store hands out data keys. It is safe for concurrent use, and several
// processes may share its tables.
type Store struct {
	pool     *pgxpool.Pool
	master   *master
	previous *master // nil without PreviousMaster
	cache    *keyCache
	// creations queues the period keys being created (create.go).
	creations creations
}

// New returns a store on pool, whose keystore tables Migrate has created. It
// fails with ErrWrongMaster when the tables hold data keys wrapped by a
// master key that is neither Master nor PreviousMaster: a server started
// with the wrong key would otherwise show every message as erased.
func New(ctx context.Context, pool *pgxpool.Pool, cfg Config) (*Store, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if pool == nil {
		return nil, errors.New("keystore: nil pool")
	}
	s := &Store{pool: pool}
	var err error
	if s.master, err = newMaster(cfg.Master); err != nil {
		return nil, err
	}
	known := []string{s.master.id}
	if cfg.PreviousMaster != nil {
		if s.previous, err = newMaster(cfg.PreviousMaster); err != nil {
			return nil, fmt.Errorf("previous %w", err)
		}
		known = append(known, s.previous.id)
	}
	if s.cache, err = newKeyCache(cfg.CacheSize, cfg.CacheTTL, cfg.Now); err != nil {
		return nil, fmt.Errorf("keystore cache: %w", err)
	}
	var other string
	err = pool.QueryRow(ctx, `SELECT master_id FROM tellyou_data_keys WHERE master_id <> ALL($1) LIMIT 1`, known).Scan(&other)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return s, nil
	case err != nil:
		return nil, fmt.Errorf("keystore: check master key: %w", err)
	default:
		return nil, fmt.Errorf("keystore: %w: keys are wrapped by master %s, the configured master is %s (TELLYOU_MASTER_KEY; during a rotation set the old one as TELLYOU_PREVIOUS_MASTER_KEY)",
			ErrWrongMaster, other, s.master.id)
	}
}

// MasterID is the fingerprint of the master key new data keys are wrapped by.
func (s *Store) MasterID() string { return s.master.id }

func dayOf(at time.Time) string { return at.UTC().Format(time.DateOnly) }

// KeyFor returns the data key for sender's content in sessionID on the UTC
// day of at, creating it on first use. Processes racing to create one key all
// get the same one. It fails with ErrUserErased for an erased sender.
func (s *Store) KeyFor(ctx context.Context, sender, sessionID string, at time.Time) (keyID string, key []byte, err error) {
	day := dayOf(at)
	if k, ok := s.cache.forPeriod(sender, sessionID, day); ok {
		return k.id, k.key, nil
	}
	gen := s.cache.generation()
	k, err := s.readPeriod(ctx, s.pool, sender, sessionID, day)
	if errors.Is(err, pgx.ErrNoRows) {
		k, err = s.createPeriod(ctx, sender, sessionID, day)
	}
	if err != nil {
		return "", nil, err
	}
	s.cache.add(k, gen)
	return k.id, k.key, nil
}

type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

func (s *Store) readPeriod(ctx context.Context, q querier, sender, sessionID, day string) (*dataKey, error) {
	var id uuid.UUID
	var wrapped []byte
	var masterID string
	err := q.QueryRow(ctx, `SELECT key_id, wrapped, master_id FROM tellyou_data_keys
		WHERE user_id = $1 AND session_id = $2 AND day = $3`, sender, sessionID, day).Scan(&id, &wrapped, &masterID)
	if err != nil {
		return nil, err
	}
	return s.unwrap(id.String(), sender, sessionID, day, wrapped, masterID)
}

func (s *Store) unwrap(id, userID, sessionID, day string, wrapped []byte, masterID string) (*dataKey, error) {
	m, err := s.masterFor(masterID)
	if err != nil {
		return nil, fmt.Errorf("data key %s: %w", id, err)
	}
	key, err := m.unwrap(wrapped, wrapAAD(id, userID, sessionID, day))
	if err != nil {
		return nil, fmt.Errorf("data key %s: %w", id, err)
	}
	return &dataKey{id: id, key: key, userID: userID, sessionID: sessionID, day: day, fetched: s.cache.now()}, nil
}

func (s *Store) masterFor(masterID string) (*master, error) {
	switch {
	case masterID == s.master.id:
		return s.master, nil
	case s.previous != nil && masterID == s.previous.id:
		return s.previous, nil
	}
	return nil, fmt.Errorf("%w %s", ErrWrongMaster, masterID)
}

// Key returns the data key keyID, or ErrKeyShredded when it was deleted or
// never existed.
func (s *Store) Key(ctx context.Context, keyID string) ([]byte, error) {
	if k, ok := s.cache.byKeyID(keyID); ok {
		return k.key, nil
	}
	id, err := uuid.Parse(keyID)
	if err != nil {
		return nil, fmt.Errorf("data key %q: %w", keyID, ErrKeyShredded)
	}
	gen := s.cache.generation()
	var userID, sessionID string
	var day time.Time
	var wrapped []byte
	var masterID string
	err = s.pool.QueryRow(ctx, `SELECT user_id, session_id, day, wrapped, master_id FROM tellyou_data_keys WHERE key_id = $1`, id).
		Scan(&userID, &sessionID, &day, &wrapped, &masterID)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("data key %s: %w", keyID, ErrKeyShredded)
	}
	if err != nil {
		return nil, fmt.Errorf("read data key %s: %w", keyID, err)
	}
	k, err := s.unwrap(id.String(), userID, sessionID, day.Format(time.DateOnly), wrapped, masterID)
	if err != nil {
		return nil, err
	}
	s.cache.add(k, gen)
	return k.key, nil
}

var _ sealing.KeySource = (*Store)(nil)
