package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tellyou/tellyou/events/keystore"
	"github.com/tellyou/tellyou/events/pgstore"
	"github.com/tellyou/tellyou/handlers/feedbus"
	"github.com/tellyou/tellyou/handlers/notify"
	"github.com/tellyou/tellyou/handlers/presence"
	"github.com/tellyou/tellyou/handlers/transport/auth"
	"github.com/tellyou/tellyou/readmodels"
)

// defaultPoolMaxConns is the pool size when the URL sets none
// (pool_max_conns). Measured with `tellyou bench --scenario direct --users 300
// --rate 0 --duration 15s` on 2 cores: 4 connections acked 1,734 messages/s,
// 16 acked 2,042/s.
const defaultPoolMaxConns = 16

// openDatabase creates the configured database if it is missing, connects a pool
// to it and applies every migration. Several processes may do this at once.
func openDatabase(ctx context.Context, url string) (*pgxpool.Pool, error) {
	if err := ensureDatabase(ctx, url); err != nil {
		return nil, err
	}
	pcfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("parse TELLYOU_DATABASE_URL: %w", err)
	}
	// No transaction of ours waits for this process between its statements
	// for more than moments: an append's BEGIN, call and COMMIT travel in
	// one write. But a node cut off from the database in the middle of that
	// write (a partition, a reset) leaves its transaction open on the server,
	// holding the log head's row lock, and every node's appends wait for it.
	// The server ends such a transaction after 5 s.
	if _, set := pcfg.ConnConfig.RuntimeParams["idle_in_transaction_session_timeout"]; !set {
		pcfg.ConnConfig.RuntimeParams["idle_in_transaction_session_timeout"] = "5000"
	}
	// pgxpool's default (the core count, at least 4) leaves concurrent appends
	// queueing for a connection while PostgreSQL could commit them together.
	if !strings.Contains(url, "pool_max_conns") {
		pcfg.MaxConns = defaultPoolMaxConns
	}
	pool, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", redact(url), err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("connect to %s: %w", redact(url), err)
	}
	for _, m := range []struct {
		name string
		fn   func(context.Context, *pgxpool.Pool) error
	}{{"event store", pgstore.Migrate}, {"read models", readmodels.Migrate}, {"auth", auth.Migrate}, {"analytics feed", feedbus.Migrate},
		{"presence", presence.Migrate}, {"notifications", notify.Migrate}, {"keystore", keystore.Migrate}} {
		if err := m.fn(ctx, pool); err != nil {
			pool.Close()
			return nil, fmt.Errorf("migrate %s: %w", m.name, err)
		}
	}
	return pool, nil
}

// ensureDatabase creates the URL's database through the server's maintenance
// database when it does not exist.
func ensureDatabase(ctx context.Context, url string) error {
	// Parse as the pool does, so pool settings in the URL (pool_max_conns,
	// ...) are not sent to the server as run-time parameters.
	pcfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return fmt.Errorf("parse TELLYOU_DATABASE_URL: %w", err)
	}
	cfg := pcfg.ConnConfig
	name := cfg.Database
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err == nil {
		return conn.Close(ctx)
	}
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "3D000" { // invalid_catalog_name
		return fmt.Errorf("connect to %s: %w", redact(url), err)
	}
	admin := cfg.Copy()
	admin.Database = "postgres"
	aconn, err := pgx.ConnectConfig(ctx, admin)
	if err != nil {
		return fmt.Errorf("connect to maintenance database to create %q: %w", name, err)
	}
	defer aconn.Close(ctx)
	_, err = aconn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize())
	if errors.As(err, &pgErr) && (pgErr.Code == "42P04" || pgErr.Code == "23505") { // created by a racing node
		return nil
	}
	if err != nil {
		return fmt.Errorf("create database %q: %w", name, err)
	}
	return nil
}

// redact hides a password in a connection URL for logs and errors.
func redact(url string) string {
	pcfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return "the configured database"
	}
	cfg := pcfg.ConnConfig
	return fmt.Sprintf("postgres://%s@%s:%d/%s", cfg.User, cfg.Host, cfg.Port, cfg.Database)
}
