package projections_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/tellyou/tellyou/projections"
	"github.com/tellyou/tellyou/projections/projectiontest"
)

// dumpRows renders every column of every read-model row, compressed content
// included, in a fixed order.
func dumpRows(t *testing.T, env *projectiontest.Env) string {
	t.Helper()
	var sb strings.Builder
	for _, table := range []string{"rm_messages", "rm_reactions", "rm_sessions", "rm_members", "rm_search"} {
		rows, err := env.Pool.Query(ctx, `SELECT r::text FROM `+table+` r ORDER BY 1`)
		if err != nil {
			t.Fatal(err)
		}
		all, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&sb, "-- %s: %d rows\n%s\n", table, len(all), strings.Join(all, "\n"))
	}
	return sb.String()
}

// freshBuild returns the read models a live runner builds from env's log on
// a database of its own.
func freshBuild(t *testing.T, env *projectiontest.Env) string {
	t.Helper()
	fresh := projectiontest.New(t)
	fresh.CopyLog(env.Store)
	fresh.StartRunner(projections.RunnerConfig{})
	fresh.WaitCaughtUp()
	return dumpRows(t, fresh)
}
