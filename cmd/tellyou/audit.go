package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"

	"github.com/tellyou/tellyou/events"
	"github.com/tellyou/tellyou/handlers/transport/wire"
)

func auditCmd(ctx context.Context, cfg config, logger *slog.Logger, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("audit", flag.ContinueOnError)
	fs.SetOutput(stderr)
	session := fs.String("session", "", "session id")
	user := fs.String("user", "", "user id: print the user's own stream (their erasure)")
	from := fs.Int64("from-version", 1, "first stream version to print")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if (*session == "") == (*user == "") {
		return errors.New("audit: give one of --session and --user")
	}
	if *user != "" {
		*session = events.UserStreamPrefix + *user
	}
	eng, err := openEngine(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer eng.Close()
	store := eng.Store
	_, sealer, err := openSealer(ctx, cfg, eng, logger)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(stdout)
	n := 0
	for next := *from; ; {
		recs, err := store.ReadStream(ctx, *session, next, 1000)
		if err != nil {
			return fmt.Errorf("audit %s: %w", *session, err)
		}
		for _, r := range recs {
			ev, err := wire.NewOpenedAuditEvent(ctx, r, sealer)
			if err != nil {
				return err
			}
			if err := enc.Encode(ev); err != nil {
				return err
			}
			n++
			next = r.Version + 1
		}
		if len(recs) < 1000 {
			break
		}
	}
	if n == 0 && *user == "" {
		return fmt.Errorf("audit: session %s has no events from version %d", *session, *from)
	}
	return nil
}
