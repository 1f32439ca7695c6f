package projections

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// A rebuild loads its copies without indexes and builds them afterwards. What
// it builds is read from the live table's catalog entries, never written down
// a second time: the migrations define the read models' indexes and
// constraints, and a copy gets exactly those of the table it replaces, under
// the same names once switched.
//
// LIKE ... INCLUDING ALL EXCLUDING INDEXES gives the copy the columns, NOT
// NULL and CHECK constraints, defaults, storage and compression settings and
// extended statistics of the live table. What it leaves out are the indexes
// and the constraints that need one (PRIMARY KEY, UNIQUE, EXCLUDE): those
// are the table's indexPlan.

// tableIndex is one valid index of a live table, with the constraint it
// backs if any.
type tableIndex struct {
	// name is the index's (and its constraint's) name on the live table.
	name string
	// unique is true for a unique index, with or without a constraint.
	unique bool
	// using is the index's definition from its access method on, as
	// pg_get_indexdef gives it: " USING btree (a, b) INCLUDE (c) WHERE ...".
	using string
	// constraint is the kind of constraint the index backs: "p" (primary
	// key), "u" (unique), "x" (exclusion), or "" for none.
	constraint string
	// definition is the constraint's definition (pg_get_constraintdef).
	definition string
	// deferrable and deferred are the constraint's timing.
	deferrable, deferred bool
}

// indexPlan is the indexes a copy of a table needs, in name order.
type indexPlan []tableIndex

// readIndexPlan reads the indexes and index-backed constraints of the live
// table (a quoted identifier) from the catalog.
func readIndexPlan(ctx context.Context, q pgxQuerier, table string) (indexPlan, error) {
	rows, err := q.Query(ctx, `SELECT c.relname, i.indisunique,
			substring(pg_get_indexdef(i.indexrelid) from ' USING .*$'),
			coalesce(con.contype::text, ''), coalesce(pg_get_constraintdef(con.oid), ''),
			coalesce(con.condeferrable, false), coalesce(con.condeferred, false)
		FROM pg_index i
		JOIN pg_class c ON c.oid = i.indexrelid
		LEFT JOIN pg_constraint con ON con.conindid = i.indexrelid AND con.conrelid = i.indrelid
			AND con.contype IN ('p', 'u', 'x')
		WHERE i.indrelid = $1::text::regclass AND i.indisvalid AND i.indislive
		ORDER BY c.relname`, table)
	if err != nil {
		return nil, fmt.Errorf("list indexes of %s: %w", table, err)
	}
	var plan indexPlan
	var ix tableIndex
	_, err = pgx.ForEachRow(rows, []any{&ix.name, &ix.unique, &ix.using, &ix.constraint, &ix.definition,
		&ix.deferrable, &ix.deferred}, func() error {
		plan = append(plan, ix)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list indexes of %s: %w", table, err)
	}
	return plan, nil
}

// pgxQuerier is what reading the catalog needs of a connection or
// transaction.
type pgxQuerier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// pgxExecer is what changing the schema needs of a connection or
// transaction.
type pgxExecer interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

// copyIndexName is the name the i-th index of plan has on the copy until the
// switch gives it the live index's name (the live one still holds it).
func copyIndexName(table string, i int) string {
	return fmt.Sprintf("%s%s_%d", table, rebuildSuffix, i)
}

// build creates plan's indexes and constraints on the copy of table, one at
// a time. The copy is read by nobody until the switch, so a plain CREATE
// INDEX (one scan, its lock hurting no one) is the fastest build; and readers
// of the log do not wait for write transactions, so a long build holds
// nothing back. On failure the copy may keep a half-built index; dropping the
// copy removes it.
func (plan indexPlan) build(ctx context.Context, db pgxExecer, table string) error {
	copied := rebuildTables().Of(table)
	for i, ix := range plan {
		name := pgx.Identifier{copyIndexName(table, i)}.Sanitize()
		if ix.constraint == "x" {
			if _, err := db.Exec(ctx, "ALTER TABLE "+copied+" ADD CONSTRAINT "+name+" "+ix.definition); err != nil {
				return fmt.Errorf("add constraint %s to the copy of %s: %w", ix.name, table, err)
			}
			continue
		}
		create := "CREATE INDEX "
		if ix.unique {
			create = "CREATE UNIQUE INDEX "
		}
		if _, err := db.Exec(ctx, create+name+" ON "+copied+ix.using); err != nil {
			return fmt.Errorf("build index %s on the copy of %s: %w", ix.name, table, err)
		}
		var kind string
		switch ix.constraint {
		case "p":
			kind = " PRIMARY KEY"
		case "u":
			kind = " UNIQUE"
		default:
			continue
		}
		timing := ""
		if ix.deferrable {
			timing = " DEFERRABLE"
			if ix.deferred {
				timing += " INITIALLY DEFERRED"
			}
		}
		if _, err := db.Exec(ctx, "ALTER TABLE "+copied+" ADD CONSTRAINT "+name+kind+" USING INDEX "+name+timing); err != nil {
			return fmt.Errorf("add constraint %s to the copy of %s: %w", ix.name, table, err)
		}
	}
	return nil
}

// renameToLive gives the indexes (and so their constraints) of the copy,
// once it is renamed to the live table, the names the live ones had.
func (plan indexPlan) renameToLive(ctx context.Context, tx pgx.Tx, table string) error {
	for i, ix := range plan {
		from := copyIndexName(table, i)
		if from == ix.name {
			continue
		}
		if _, err := tx.Exec(ctx, "ALTER INDEX "+pgx.Identifier{from}.Sanitize()+" RENAME TO "+pgx.Identifier{ix.name}.Sanitize()); err != nil {
			return fmt.Errorf("rename index %s of %s to %s: %w", from, table, ix.name, err)
		}
	}
	return nil
}

// same reports whether two plans define the same indexes and constraints
// under the same names.
func (plan indexPlan) same(other indexPlan) bool { return slices.Equal(plan, other) }

// String describes the plan, one index a line, for errors.
func (plan indexPlan) String() string {
	var sb strings.Builder
	for _, ix := range plan {
		fmt.Fprintf(&sb, "%s%s %s %s\n", ix.name, ix.using, ix.constraint, ix.definition)
	}
	return sb.String()
}
