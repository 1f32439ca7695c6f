package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"

	"github.com/google/uuid"

	"github.com/tellyou/tellyou/handlers/command"
)

// eraseCmd runs `tellyou erase --user U [--by NAME]`: an operator with the
// database erases a user as an admin would through DELETE /v1/users/{id}.
// It prints the first erasure as JSON; erasing again appends nothing and
// deletes the keys again, which finishes an erasure a crash interrupted.
func eraseCmd(ctx context.Context, cfg config, logger *slog.Logger, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("erase", flag.ContinueOnError)
	fs.SetOutput(stderr)
	user := fs.String("user", "", "id of the user to erase (required)")
	by := fs.String("by", "operator", "who asks for the erasure, recorded as its actor")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *user == "" {
		return errors.New("erase: --user is required")
	}
	if *by == "" {
		return errors.New("erase: --by must name who asks")
	}
	eng, err := openEngine(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer eng.Close()
	store := eng.Store
	keys, _, err := openSealer(ctx, cfg, eng, logger)
	if err != nil {
		return err
	}
	eraser, err := newEraser(store, keys)
	if err != nil {
		return err
	}
	e, err := eraser.Handle(ctx, command.EraseUser{
		Meta:         command.RequestMeta{Actor: *by, CorrelationID: "erase-cli-" + uuid.NewString()},
		ActorIsAdmin: true, UserID: *user,
	})
	if err != nil {
		return fmt.Errorf("erase %s: %w", *user, err)
	}
	if e.Repeated {
		logger.Info("user was erased already; keys deleted again", "user", e.UserID, "erasedAt", e.ErasedAt, "by", e.By)
	}
	return json.NewEncoder(stdout).Encode(e)
}
