package readmodels

import (
	"errors"

	"github.com/jackc/pgx/v5/pgxpool"
)

// ErrNotFound is matched (errors.Is) by the error of a query about a session or
// message the read models do not hold.
var ErrNotFound = errors.New("not found")

// ErrNotMember is matched by the error of Session when the session exists but
// the user is not one of its current members.
var ErrNotMember = errors.New("not a member")

// Queries answers the protocol's pulls from the read-model tables. It is safe
// for concurrent use.
type Queries struct {
	pool *pgxpool.Pool
	// content turns stored content back into text.
	content ContentCodec
}

// New returns the queries over the read models in pool's database, which
// Migrate has prepared.
func New(pool *pgxpool.Pool) *Queries {
	return &Queries{pool: pool}
}

// clamp returns def for n <= 0 and max for n > max.
func clamp(n, def, max int) int {
	switch {
	case n <= 0:
		return def
	case n > max:
		return max
	default:
		return n
	}
}
