package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"

	"github.com/tellyou/tellyou/events/sealing"
)

// keysCmd runs `tellyou keys generate` (print a new master key) and `tellyou
// keys rotate-master` (rewrap every data key with TELLYOU_NEW_MASTER_KEY).
func keysCmd(ctx context.Context, cfg config, logger *slog.Logger, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return errors.New("keys: want generate or rotate-master")
	}
	switch args[0] {
	case "generate":
		key := make([]byte, sealing.KeySize)
		if _, err := rand.Read(key); err != nil {
			return fmt.Errorf("keys generate: %w", err)
		}
		fmt.Fprintln(stdout, base64.StdEncoding.EncodeToString(key))
		return nil
	case "rotate-master":
		return rotateMasterCmd(ctx, cfg, logger, args[1:], stdout, stderr)
	default:
		return fmt.Errorf("keys: unknown subcommand %q (want generate or rotate-master)", args[0])
	}
}

func rotateMasterCmd(ctx context.Context, cfg config, logger *slog.Logger, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("keys rotate-master", flag.ContinueOnError)
	fs.SetOutput(stderr)
	batch := fs.Int("batch", 500, "data keys rewrapped per transaction")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if cfg.Sealing.NewMasterKey == nil {
		return errors.New("keys rotate-master: set TELLYOU_NEW_MASTER_KEY to the new master key (tellyou keys generate)")
	}
	if *batch < 1 {
		return fmt.Errorf("keys rotate-master: --batch %d, want at least 1", *batch)
	}
	eng, err := openEngine(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer eng.Close()
	keys, _, err := openSealer(ctx, cfg, eng, logger)
	if err != nil {
		return err
	}
	n, err := keys.RotateMaster(ctx, cfg.Sealing.NewMasterKey, *batch)
	fmt.Fprintf(stdout, "rewrapped %d data keys\n", n)
	return err
}
