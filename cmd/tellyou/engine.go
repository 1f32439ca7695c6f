package main

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tellyou/tellyou/events/pgstore"
)

// engine is the event store and the read-model database, opened and migrated.
type engine struct {
	Pool  *pgxpool.Pool
	Store *pgstore.Store
}

func openEngine(ctx context.Context, cfg config, logger *slog.Logger) (*engine, error) {
	if cfg.EventStore != "postgres" {
		return nil, fmt.Errorf("TELLYOU_EVENTSTORE=%s: only the postgres event store is available in this build", cfg.EventStore)
	}
	pool, err := openDatabase(ctx, cfg.DatabaseURL)
	if err != nil {
		return nil, err
	}
	store, err := pgstore.New(ctx, pool, pgstore.Config{Logger: logger})
	if err != nil {
		pool.Close()
		return nil, fmt.Errorf("open event store: %w", err)
	}
	return &engine{Pool: pool, Store: store}, nil
}

// Close stops the store's background work and closes the pool.
func (e *engine) Close() {
	e.Store.Close()
	e.Pool.Close()
}
