package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
)

func migrateCmd(ctx context.Context, cfg config, _ *slog.Logger, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	if err := fs.Parse(args); err != nil {
		return err
	}
	pool, err := openDatabase(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	pool.Close()
	fmt.Fprintf(stdout, "migrated %s\n", redact(cfg.DatabaseURL))
	return nil
}
