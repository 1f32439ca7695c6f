package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"

	"github.com/tellyou/tellyou/projections"
)

func rebuildCmd(ctx context.Context, cfg config, logger *slog.Logger, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("rebuild", flag.ContinueOnError)
	fs.SetOutput(stderr)
	name := fs.String("projection", "", "rebuild only this projection (history, sessions or search); default all")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var selected []projections.Projection
	if *name != "" {
		p, err := projections.Named(*name)
		if err != nil {
			return fmt.Errorf("rebuild: %w", err)
		}
		selected = []projections.Projection{p}
	} else {
		selected = projections.All()
	}
	eng, err := openEngine(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer eng.Close()
	_, sealer, err := openSealer(ctx, cfg, eng, logger)
	if err != nil {
		return err
	}
	stats, err := projections.RebuildAllOpened(ctx, eng.Store, eng.Pool, selected, logger, sealer)
	for _, s := range stats {
		rate := 0.0
		if s.Duration > 0 {
			rate = float64(s.Events) / s.Duration.Seconds()
		}
		fmt.Fprintf(stdout, "rebuilt %-10s %8d events in %v (%.0f events/s), checkpoint %d\n",
			s.Projection, s.Events, s.Duration.Round(1e6), rate, s.Position)
	}
	return err
}
