package projections

import (
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/tellyou/tellyou/events"
)

// Projection turns events into rows of the read-model tables it owns.
//
// Apply does not execute anything: it queues the statements of one event on
// b, and the caller sends every statement of a batch of events in one
// pipelined round trip inside the batch's transaction, in order. A projection
// therefore never reads in Go: state it needs is read by the statements
// themselves (INSERT ... ON CONFLICT, GREATEST). Statements must name tables
// through tables.Of, so that a rebuild can fill fresh copies.
type Projection interface {
	// Name identifies the projection and its checkpoint; it never changes.
	Name() string
	// Tables are the read-model tables the projection owns and rebuilds; no
	// other projection writes them.
	Tables() []string
	// Handles reports whether events of the type change the projection. Others
	// are neither decoded nor given to Apply, but the checkpoint moves past
	// them.
	Handles(eventType string) bool
	// Apply queues the statements of one decoded event. An error means the
	// event cannot be applied: the projection stops before it.
	Apply(b *pgx.Batch, tables TableNames, ev events.RecordedEvent, env events.Envelope) error
}

// TableNames says which physical table stands for each table a projection
// owns. The zero value names the live tables.
type TableNames struct {
	suffix string
}

// rebuildSuffix names the copies a rebuild fills, e.g. rm_messages__rebuild.
const rebuildSuffix = "__rebuild"

// rebuildTables names the copies a rebuild fills.
func rebuildTables() TableNames { return TableNames{suffix: rebuildSuffix} }

// Of returns the quoted identifier of the physical table that stands for
// table.
func (t TableNames) Of(table string) string {
	return pgx.Identifier{table + t.suffix}.Sanitize()
}

// Names of the projections this package defines.
const (
	HistoryName  = "history"
	SessionsName = "sessions"
	SearchName   = "search"
)

// All returns every projection the read models need, in a fixed order.
func All() []Projection {
	return []Projection{History(), Sessions(), Search()}
}

// Named returns the projection called name.
func Named(name string) (Projection, error) {
	var names []string
	for _, p := range All() {
		if p.Name() == name {
			return p, nil
		}
		names = append(names, p.Name())
	}
	return nil, fmt.Errorf("no projection named %q (have %q)", name, names)
}

// checkStream refuses a payload that names another session than the stream it
// is stored in: every session is one stream.
func checkStream(ev events.RecordedEvent, sessionID string) error {
	if sessionID != ev.StreamID {
		return fmt.Errorf("payload names session %q but is stored in stream %q", sessionID, ev.StreamID)
	}
	return nil
}
