package keystore

import (
	"context"
	"crypto/rand"
	"embed"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tellyou/tellyou/events/pgstore/pgmigrate"
	"github.com/tellyou/tellyou/events/sealing"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Migrate creates the keystore's tables. It is idempotent and safe to run
// from several processes at once.
func Migrate(ctx context.Context, pool *pgxpool.Pool) error {
	return pgmigrate.ApplyEmbedded(ctx, pool, "keystore", migrations, "tellyou_keystore_version")
}

// LoadOrCreateMaster returns the master key stored in the database,
// generating and storing a random one the first time. Racing callers (several
// nodes starting together) all get the one stored first. It is the fallback
// when no master key is configured; see SECURITY.md for what it costs.
func LoadOrCreateMaster(ctx context.Context, pool *pgxpool.Pool) ([]byte, error) {
	fresh := make([]byte, sealing.KeySize)
	if _, err := rand.Read(fresh); err != nil {
		return nil, fmt.Errorf("generate master key: %w", err)
	}
	if _, err := pool.Exec(ctx,
		`INSERT INTO tellyou_generated_master_key (id, master) VALUES (1, $1) ON CONFLICT (id) DO NOTHING`, fresh); err != nil {
		return nil, fmt.Errorf("store generated master key: %w", err)
	}
	var master []byte
	err := pool.QueryRow(ctx, `SELECT master FROM tellyou_generated_master_key WHERE id = 1`).Scan(&master)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, errors.New("load generated master key: not stored")
	}
	if err != nil {
		return nil, fmt.Errorf("load generated master key: %w", err)
	}
	return master, nil
}
