package pgstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tellyou/tellyou/events"
	"github.com/tellyou/tellyou/events/wakeup"
)

var _ events.Store = (*Store)(nil)

const (
	// defaultReadLimit is the limit of ReadStream and ReadAll calls that pass a
	// limit <= 0, and the batch size of Subscribe calls that pass <= 0.
	defaultReadLimit = 1000
	// listenReconnectDelay is the pause before the LISTEN connection is opened
	// again after it was lost. Subscribers poll meanwhile.
	listenReconnectDelay = time.Second
)

// Config configures a Store. The zero value is valid.
type Config struct {
	// PollInterval is how long a subscriber with nothing to read waits before it
	// looks again without having been woken. Wake-ups (appends by this process
	// in process, by others through LISTEN/NOTIFY) normally come first; polling
	// is the fallback for lost notices. Default 1s.
	PollInterval time.Duration
	// Logger receives the errors the store recovers from on its own (a lost
	// LISTEN connection, a failed read in Subscribe). Default slog.Default().
	Logger *slog.Logger
	// Committers is how many group-commit transactions may be in flight at
	// once (see groupcommit.go); each holds one pooled connection while it
	// commits. 0 means 4; a negative number turns group commit off, so that
	// every Append has a transaction of its own.
	Committers int
}

func (c *Config) setDefaults() {
	if c.PollInterval == 0 {
		c.PollInterval = time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Committers == 0 {
		c.Committers = defaultCommitters
	}
}

// Validate reports whether the configuration, with defaults applied, is usable.
func (c Config) Validate() error {
	if c.PollInterval < 0 {
		return fmt.Errorf("poll interval %s is negative", c.PollInterval)
	}
	return nil
}

// Store is the PostgreSQL event store. It is safe for concurrent use. Create it
// with New and stop it with Close.
type Store struct {
	pool *pgxpool.Pool
	cfg  Config
	log  *slog.Logger
	// id tells this store's NOTIFY payloads from other stores'.
	id string

	wakeups        *wakeup.Broadcast
	notifyRequests chan struct{}

	// appends queues appends for the group committers; nil when group
	// commit is off. closing is closed when Close starts, committersDone once
	// every committer has returned.
	appends        chan *appendRequest
	groupStats     groupCommitCounters
	closing        <-chan struct{}
	committersDone chan struct{}

	stop      context.CancelFunc
	wg        sync.WaitGroup
	closeOnce sync.Once
}

// New returns a store on pool, whose database must have been migrated (see
// Migrate). It opens one extra connection, outside the pool, and LISTENs on it
// before it returns: from then on, appends by other stores on the database
// wake this store's subscribers. A goroutine keeps that connection (opening it
// again when it is lost) until Close. The pool stays the caller's: Close the
// store before the pool.
func New(ctx context.Context, pool *pgxpool.Pool, cfg Config) (*Store, error) {
	if pool == nil {
		return nil, errors.New("new event store: nil pool")
	}
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("new event store: %w", err)
	}
	if _, err := pool.Exec(ctx, "SELECT FROM tellyou_events LIMIT 0"); err != nil {
		return nil, fmt.Errorf("new event store: check tables (has Migrate run?): %w", err)
	}
	conn, err := pgx.ConnectConfig(ctx, pool.Config().ConnConfig)
	if err != nil {
		return nil, fmt.Errorf("new event store: open LISTEN connection: %w", err)
	}
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{notifyChannel}.Sanitize()); err != nil {
		_ = conn.Close(context.Background())
		return nil, fmt.Errorf("new event store: listen: %w", err)
	}

	runCtx, stop := context.WithCancel(context.Background())
	s := &Store{
		pool:           pool,
		cfg:            cfg,
		log:            cfg.Logger,
		id:             uuid.NewString(),
		wakeups:        wakeup.New(),
		notifyRequests: make(chan struct{}, 1),
		closing:        runCtx.Done(),
		committersDone: make(chan struct{}),
		stop:           stop,
	}
	var committers sync.WaitGroup
	if cfg.Committers > 0 {
		s.appends = make(chan *appendRequest, maxBatchAppends)
		for range cfg.Committers {
			committers.Go(func() { s.runCommitter(runCtx) })
		}
	}
	s.wg.Go(func() {
		committers.Wait()
		close(s.committersDone)
	})
	listener := s.newListener(conn)
	s.wg.Add(2)
	go func() {
		defer s.wg.Done()
		s.runListener(runCtx, listener)
	}()
	go func() {
		defer s.wg.Done()
		s.runNotifier(runCtx)
	}()
	return s, nil
}

// Close stops the store's LISTEN connection, notifier and group committers and
// waits for them; appends made from then on each take a transaction of their
// own.
// Running subscriptions are not stopped (they end with their own contexts) but
// from then on see other processes' appends only by polling. Close is
// idempotent.
func (s *Store) Close() {
	s.closeOnce.Do(func() {
		s.stop()
		s.wg.Wait()
	})
}
