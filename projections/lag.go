package projections

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/tellyou/tellyou/events"
)

// Lag returns, for each projection (All() when ps is empty), how far its
// stored checkpoint trails the head of the log, in global positions: 0 when it
// has applied everything. Positions need not be contiguous, so this bounds the
// number of events behind rather than counting them. It reads the database,
// so it sees runners of every process.
func Lag(ctx context.Context, store events.Store, pool *pgxpool.Pool, ps ...Projection) (map[string]int64, error) {
	if len(ps) == 0 {
		ps = All()
	}
	// Checkpoints first: read the other way round, a checkpoint could pass
	// the head in between and the lag go negative.
	positions := make([]events.Position, len(ps))
	for i, p := range ps {
		pos, err := readCheckpoint(ctx, pool, p.Name())
		if err != nil {
			return nil, err
		}
		positions[i] = pos
	}
	head, err := store.Head(ctx)
	if err != nil {
		return nil, fmt.Errorf("projection lag: read head: %w", err)
	}
	lag := make(map[string]int64, len(ps))
	for i, p := range ps {
		lag[p.Name()] = max(int64(head-positions[i]), 0)
	}
	return lag, nil
}
