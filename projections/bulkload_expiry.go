package projections

import (
	"context"
	"fmt"
	"maps"
	"slices"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/tellyou/tellyou/events"
)

// expiries folds the MessagesExpired events of a bulk load: per session, the
// highest seq expired up to. Rows still in memory are dropped when the
// expiry comes; rows written already are deleted by deleteExpired once the
// copies have their indexes, before any pending change is applied, so that
// a pending change of an expired message matches no row, as Apply's
// statements match none after the expiry's DELETE.
//
// It assumes what the domain guarantees: a session's seqs grow, so no
// message at or below an expiry's seq is logged after it.
type expiries map[string]int64

// add checks an expiry as Apply does and records it.
func (x expiries) add(ev events.RecordedEvent, e events.MessagesExpired) error {
	if err := checkStream(ev, e.SessionID); err != nil {
		return err
	}
	if err := checkText("session id", e.SessionID); err != nil {
		return err
	}
	x[e.SessionID] = max(x[e.SessionID], e.UpToSeq)
	return nil
}

// dropExpired removes from a bulk load's rows in memory those e expires,
// and indexes the rest by id in at again. place gives a row's session, seq
// and message id.
func dropExpired[R any](rows []R, at map[uuid.UUID]int, e events.MessagesExpired, place func(R) (string, int64, uuid.UUID)) []R {
	rows = slices.DeleteFunc(rows, func(r R) bool {
		session, seq, _ := place(r)
		return session == e.SessionID && seq <= e.UpToSeq
	})
	clear(at)
	for i, r := range rows {
		_, _, id := place(r)
		at[id] = i
	}
	return rows
}

// deleteExpired deletes, in table and with the statements before returns,
// the rows of each expired session up to its seq, in chunks.
func (x expiries) deleteExpired(ctx context.Context, conn *pgxpool.Conn, table string, before ...string) error {
	sessions := slices.Sorted(maps.Keys(x))
	upTo := make([]int64, len(sessions))
	for i, s := range sessions {
		upTo[i] = x[s]
	}
	t := pgx.Identifier{table}.Sanitize()
	stmts := append(slices.Clone(before), `DELETE FROM `+t+` AS m USING unnest($1::text[], $2::bigint[]) AS x(sid, up_to)
		WHERE m.session_id = x.sid AND m.seq <= x.up_to`)
	for lo := 0; lo < len(sessions); lo += pendingChunk {
		hi := min(len(sessions), lo+pendingChunk)
		err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, "SET LOCAL synchronous_commit = off"); err != nil {
				return fmt.Errorf("delete without waiting for each commit: %w", err)
			}
			for _, sql := range stmts {
				if _, err := tx.Exec(ctx, sql, sessions[lo:hi], upTo[lo:hi]); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("delete expired messages of sessions %d to %d from %s: %w", lo, hi, table, err)
		}
	}
	clear(x)
	return nil
}
