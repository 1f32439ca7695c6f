package pgstore

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/tellyou/tellyou/events"
)

// AppendInTx lets the black-box tests append inside a transaction of their
// own, as group commit will.
func AppendInTx(ctx context.Context, tx pgx.Tx, streamID string, expected events.ExpectedVersion, evs []events.EventData) (events.AppendResult, error) {
	res, _, err := appendTx(ctx, tx, 0, streamID, expected, evs)
	return res, err
}

// ErrStreamOrder is errStreamOrder, for the black-box tests.
var ErrStreamOrder = errStreamOrder

// QueuedAppends is how many appends wait for a group committer.
func QueuedAppends(s *Store) int { return len(s.appends) }
