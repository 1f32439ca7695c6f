package projections

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// loadErasures are the users a bulk load met a UserErased of since it last
// handed rows to its writer. The load erases their rows still in memory
// itself; the rows it wrote before are erased by one UPDATE queued on the
// writer ahead of the next rows (write), so that it reaches exactly the rows
// the log holds before the erasure, as Apply's UPDATE does. The copy has no
// index yet, so each such UPDATE scans it: erasures are rare.
type loadErasures struct {
	users []string
}

func (e *loadErasures) add(userID string) { e.users = append(e.users, userID) }

// write queues on w the UPDATE of table that sets set on the rows of the
// users erased since the last call.
func (e *loadErasures) write(w *rowWriter, table, set string) error {
	if len(e.users) == 0 {
		return nil
	}
	users := distinct(e.users)
	e.users = nil
	return w.write(func(ctx context.Context, conn *pgxpool.Conn) error {
		_, err := conn.Exec(ctx, `UPDATE `+pgx.Identifier{table}.Sanitize()+` SET `+set+
			` WHERE sender_id = ANY($1::text[])`, users)
		if err != nil {
			return fmt.Errorf("erase the written rows of %d users in %s: %w", len(users), table, err)
		}
		return nil
	})
}
