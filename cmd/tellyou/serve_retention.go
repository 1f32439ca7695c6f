package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tellyou/tellyou/handlers/command"
	"github.com/tellyou/tellyou/handlers/retention"
	"github.com/tellyou/tellyou/readmodels"
)

// newRetentionSweeper builds the sweeper that expires messages past their
// retention (cfg.RetentionDays for sessions without their own, every
// cfg.RetentionSweep). Every node runs it; the holder of its lease sweeps.
func newRetentionSweeper(cfg config, cmds *command.Commands, rm *readmodels.Queries, pool *pgxpool.Pool, logger *slog.Logger) (*retention.Sweeper, error) {
	expire, err := command.NewExpireHandler(cmds.Sessions)
	if err != nil {
		return nil, err
	}
	return retention.New(retention.Config{Expiries: rm, Expire: expire, Shredder: unsealedContent{},
		DefaultDays: cfg.RetentionDays, Interval: cfg.RetentionSweep, Pool: pool, Logger: logger})
}

// unsealedContent is the ContentShredder while message content is stored
// without per-period keys: there is nothing to shred, expired messages
// leave the read models only. The keystore of sealed content
// (events/keystore, *keystore.Store) replaces it at the merge.
type unsealedContent struct{}

func (unsealedContent) ShredSessionBefore(context.Context, string, time.Time) error { return nil }

var _ retention.ContentShredder = unsealedContent{}
