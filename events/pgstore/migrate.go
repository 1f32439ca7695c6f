package pgstore

import (
	"context"
	"embed"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tellyou/tellyou/events/pgstore/pgmigrate"
)

// VersionTable is the table in which tern records the event store's schema
// version.
const VersionTable = "tellyou_eventstore_version"

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrate brings the event store's tables up to date. It is idempotent, and
// safe to run from several processes at once: tern holds a PostgreSQL advisory
// lock while it migrates, so one process applies the migrations and the others
// find them applied.
func Migrate(ctx context.Context, pool *pgxpool.Pool) error {
	return pgmigrate.ApplyEmbedded(ctx, pool, "event store", migrationFiles, VersionTable)
}
