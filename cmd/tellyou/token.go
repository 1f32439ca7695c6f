package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/tellyou/tellyou/handlers/transport/auth"
)

func tokenCmd(ctx context.Context, cfg config, _ *slog.Logger, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("token", flag.ContinueOnError)
	fs.SetOutput(stderr)
	user := fs.String("user", "", "user id (required)")
	role := fs.String("role", "", `role to grant ("auditor" or "admin")`)
	ttl := fs.Duration("ttl", 24*time.Hour, "how long the token is valid")
	device := fs.String("device", "", "device name carried in the token")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *user == "" {
		return errors.New("token: --user is required")
	}
	p := auth.Principal{UserID: *user, Device: *device}
	switch *role {
	case "":
	case auth.RoleAuditor, auth.RoleAdmin:
		p.Roles = []string{*role}
	default:
		return fmt.Errorf("token: unknown role %q (known: auditor, admin)", *role)
	}
	secret, err := signingSecret(ctx, cfg)
	if err != nil {
		return err
	}
	tok, err := auth.Mint(secret, p, time.Now(), *ttl)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, tok)
	return nil
}

// signingSecret returns TELLYOU_JWT_SECRET, or the secret the server keeps in
// the database.
func signingSecret(ctx context.Context, cfg config) ([]byte, error) {
	if cfg.JWTSecret != "" {
		return configuredSecret(cfg)
	}
	pool, err := openDatabase(ctx, cfg.DatabaseURL)
	if err != nil {
		return nil, err
	}
	defer pool.Close()
	return auth.LoadSecret(ctx, pool)
}

// signingSecretFrom returns TELLYOU_JWT_SECRET, or the secret kept in the
// engine's database, generated there the first time (as serve does).
func signingSecretFrom(ctx context.Context, cfg config, eng *engine) ([]byte, error) {
	if cfg.JWTSecret != "" {
		return configuredSecret(cfg)
	}
	return auth.LoadOrCreateSecret(ctx, eng.Pool)
}

func configuredSecret(cfg config) ([]byte, error) {
	if len(cfg.JWTSecret) < auth.MinSecretBytes {
		return nil, fmt.Errorf("TELLYOU_JWT_SECRET must be at least %d bytes", auth.MinSecretBytes)
	}
	return []byte(cfg.JWTSecret), nil
}
