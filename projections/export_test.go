package projections

import (
	"context"
	"errors"
	"log/slog"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/tellyou/tellyou/events"
)

// RebuildAllSized is RebuildAll with reads of readSize events and COPY
// transactions of copyRows rows, small enough for short test logs to take
// every path of a bulk load.
func RebuildAllSized(ctx context.Context, store events.Store, pool *pgxpool.Pool, ps []Projection, logger *slog.Logger,
	readSize, copyRows int) ([]RebuildStats, error) {
	if len(ps) == 0 {
		ps = All()
	}
	stats, errs := rebuildAll(ctx, store, pool, ps, logger, nil, rebuildTuning{readSize: readSize, copyRows: copyRows})
	var out []RebuildStats
	for i := range ps {
		if errs[i] == nil {
			out = append(out, stats[i])
		}
	}
	return out, errors.Join(errs...)
}
