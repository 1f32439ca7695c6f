package main

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tellyou/tellyou/events"
	"github.com/tellyou/tellyou/events/esdbstore"
	"github.com/tellyou/tellyou/events/pgstore"
)

// engine is the event store and the read-model database, opened and migrated.
// The event store is PostgreSQL's (TELLYOU_EVENTSTORE=postgres) or
// EventStoreDB's (an esdb:// URL); read models, checkpoints and settings are
// always in PostgreSQL.
type engine struct {
	Pool       *pgxpool.Pool
	Store      events.Store
	closeStore func()
}

func openEngine(ctx context.Context, cfg config, logger *slog.Logger) (*engine, error) {
	pool, err := openDatabase(ctx, cfg.DatabaseURL)
	if err != nil {
		return nil, err
	}
	store, closeStore, err := openEventStore(ctx, cfg, pool, logger)
	if err != nil {
		pool.Close()
		return nil, err
	}
	return &engine{Pool: pool, Store: store, closeStore: closeStore}, nil
}

// openEventStore opens the event store cfg.EventStore names, on pool for
// PostgreSQL. The returned func closes it (not the pool).
func openEventStore(ctx context.Context, cfg config, pool *pgxpool.Pool, logger *slog.Logger) (events.Store, func(), error) {
	if cfg.EventStore == "postgres" {
		store, err := pgstore.New(ctx, pool, pgstore.Config{Logger: logger})
		if err != nil {
			return nil, nil, fmt.Errorf("open event store: %w", err)
		}
		return store, store.Close, nil
	}
	// config accepts only postgres or an esdb:// URL.
	store, err := esdbstore.New(ctx, cfg.EventStore, esdbstore.Config{Logger: logger})
	if err != nil {
		return nil, nil, fmt.Errorf("open event store: %w", err)
	}
	return store, store.Close, nil
}

// Close stops the store's background work and closes the pool.
func (e *engine) Close() {
	e.closeStore()
	e.Pool.Close()
}
