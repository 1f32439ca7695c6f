package readmodels

import (
	"context"
	"embed"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tellyou/tellyou/events/pgstore/pgmigrate"
)

// VersionTable is the table in which Migrate records the schema version of the
// read models.
const VersionTable = "tellyou_readmodels_version"

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrate brings the read-model tables to the latest schema version. It is
// safe to call from several processes at once: tern serialises migrators with
// a PostgreSQL advisory lock, and a process that finds the schema current
// changes nothing.
func Migrate(ctx context.Context, pool *pgxpool.Pool) error {
	return pgmigrate.ApplyEmbedded(ctx, pool, "read models", migrationFiles, VersionTable)
}
