// Package pgmigrate applies a component's embedded SQL migrations with
// github.com/jackc/tern/v2, each component keeping its own version table.
package pgmigrate

import (
	"context"
	"fmt"
	"io/fs"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/tern/v2/migrate"
)

// ApplyEmbedded is Apply on the directory "migrations" of files, the form
// every component embeds its migrations in (//go:embed migrations/*.sql).
func ApplyEmbedded(ctx context.Context, pool *pgxpool.Pool, what string, files fs.FS, versionTable string) error {
	dir, err := fs.Sub(files, "migrations")
	if err != nil {
		return fmt.Errorf("migrate %s: %w", what, err)
	}
	return Apply(ctx, pool, what, dir, versionTable)
}

// Apply brings the migrations in dir (tern's numbered .sql files) up to date,
// recording the version in versionTable. It is idempotent, and safe to run from
// several processes at once: tern holds a PostgreSQL advisory lock while it
// migrates, so one process applies the migrations and the others find them
// applied. what names the component in errors.
func Apply(ctx context.Context, pool *pgxpool.Pool, what string, dir fs.FS, versionTable string) (err error) {
	pc, err := pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("migrate %s: acquire connection: %w", what, err)
	}
	defer func() {
		if err != nil {
			// The session may still hold tern's advisory lock (its unlock can fail
			// with a cancelled ctx): close it rather than hand it back to the pool.
			_ = pc.Conn().Close(context.Background())
		}
		pc.Release()
	}()
	m, err := migrate.NewMigrator(ctx, pc.Conn(), versionTable)
	if err != nil {
		return fmt.Errorf("migrate %s: %w", what, err)
	}
	if err := m.LoadMigrations(dir); err != nil {
		return fmt.Errorf("migrate %s: load migrations: %w", what, err)
	}
	if err := m.Migrate(ctx); err != nil {
		return fmt.Errorf("migrate %s: %w", what, err)
	}
	return nil
}
