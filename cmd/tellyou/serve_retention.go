package main

import (
	"log/slog"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tellyou/tellyou/handlers/command"
	"github.com/tellyou/tellyou/handlers/retention"
	"github.com/tellyou/tellyou/readmodels"
)

// newRetentionSweeper builds the sweeper that expires messages past their
// retention (cfg.RetentionDays for sessions without their own, every
// cfg.RetentionSweep). Every node runs it; the holder of its lease sweeps.
func newRetentionSweeper(cfg config, cmds *command.Commands, rm *readmodels.Queries, shredder retention.ContentShredder, pool *pgxpool.Pool, logger *slog.Logger) (*retention.Sweeper, error) {
	expire, err := command.NewExpireHandler(cmds.Sessions)
	if err != nil {
		return nil, err
	}
	return retention.New(retention.Config{Expiries: rm, Expire: expire, Shredder: shredder,
		DefaultDays: cfg.RetentionDays, Interval: cfg.RetentionSweep, Pool: pool, Logger: logger})
}
