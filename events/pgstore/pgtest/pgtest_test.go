package pgtest_test

import (
	"context"
	"testing"

	"github.com/tellyou/tellyou/events/pgstore/pgtest"
)

func TestNewPoolGivesAnEmptyWritableDatabase(t *testing.T) {
	t.Parallel()
	pool := pgtest.NewPool(t)
	ctx := context.Background()
	if _, err := pool.Exec(ctx, "CREATE TABLE probe (n int)"); err != nil {
		t.Fatalf("create table: %v", err)
	}
	var name string
	if err := pool.QueryRow(ctx, "SELECT current_database()").Scan(&name); err != nil {
		t.Fatal(err)
	}
	if len(name) < len("tellyou_test_") || name[:len("tellyou_test_")] != "tellyou_test_" {
		t.Fatalf("connected to %q, want a tellyou_test_ database", name)
	}
}
