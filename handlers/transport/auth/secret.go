package auth

import (
	"context"
	"crypto/rand"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tellyou/tellyou/events/pgstore/pgmigrate"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Migrate creates the table that holds the generated secret.
func Migrate(ctx context.Context, pool *pgxpool.Pool) error {
	return pgmigrate.ApplyEmbedded(ctx, pool, "auth", migrations, "tellyou_auth_version")
}

const secretKey = "jwt_secret"

// LoadOrCreateSecret returns the server's stored signing secret, generating and
// storing a random one the first time. Racing callers (several nodes starting
// together) all get the one that was stored first.
func LoadOrCreateSecret(ctx context.Context, pool *pgxpool.Pool) ([]byte, error) {
	buf := make([]byte, 32)
	if _, err := rand.Read(buf); err != nil {
		return nil, fmt.Errorf("generate secret: %w", err)
	}
	fresh := hex.EncodeToString(buf)
	if _, err := pool.Exec(ctx,
		`INSERT INTO tellyou_settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING`, secretKey, fresh); err != nil {
		return nil, fmt.Errorf("store generated secret: %w", err)
	}
	return LoadSecret(ctx, pool)
}

// ErrNoSecret means no secret has been generated yet (no server has started).
var ErrNoSecret = errors.New("no stored secret: start the server once or set TELLYOU_JWT_SECRET")

// LoadSecret returns the stored secret.
func LoadSecret(ctx context.Context, pool *pgxpool.Pool) ([]byte, error) {
	var v string
	err := pool.QueryRow(ctx, `SELECT value FROM tellyou_settings WHERE key = $1`, secretKey).Scan(&v)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, ErrNoSecret
	}
	if err != nil {
		return nil, fmt.Errorf("load stored secret: %w", err)
	}
	return []byte(v), nil
}
