package main

import (
	"context"
	"encoding/base64"
	"fmt"
	"log/slog"
	"strings"

	"github.com/tellyou/tellyou/events/keystore"
	"github.com/tellyou/tellyou/events/sealing"
)

// sealingConfig holds the keys of sealed content.
type sealingConfig struct {
	// MasterKey wraps the data keys (TELLYOU_MASTER_KEY, 32 bytes in
	// base64). Unset, a generated one is stored in the database (with a
	// warning: a dump of the database then holds it too).
	MasterKey []byte
	// PreviousMasterKey still unwraps data keys not yet rewrapped after a
	// rotation (TELLYOU_PREVIOUS_MASTER_KEY).
	PreviousMasterKey []byte
	// NewMasterKey is the key `tellyou keys rotate-master` rewraps every
	// data key with (TELLYOU_NEW_MASTER_KEY).
	NewMasterKey []byte
}

// parseSealingConfig reads the sealing settings from the environment.
func parseSealingConfig(getenv func(string) string) (sealingConfig, error) {
	var c sealingConfig
	for name, dst := range map[string]*[]byte{
		"TELLYOU_MASTER_KEY": &c.MasterKey, "TELLYOU_PREVIOUS_MASTER_KEY": &c.PreviousMasterKey, "TELLYOU_NEW_MASTER_KEY": &c.NewMasterKey,
	} {
		v := strings.TrimSpace(getenv(name))
		if v == "" {
			continue
		}
		key, err := base64.StdEncoding.DecodeString(v)
		if err != nil || len(key) != sealing.KeySize {
			return sealingConfig{}, fmt.Errorf("%s: want %d bytes in standard base64 (tellyou keys generate)", name, sealing.KeySize)
		}
		*dst = key
	}
	return c, nil
}

// openSealer opens the keystore with the configured master key, or the one
// generated and stored in the database when none is set, and returns it with
// the sealer that seals content on the command side and opens it everywhere
// content is read. The keystore's tables are migrated with the others
// (database.go).
func openSealer(ctx context.Context, cfg config, eng *engine, logger *slog.Logger) (*keystore.Store, *sealing.Sealer, error) {
	master := cfg.Sealing.MasterKey
	if master == nil {
		var err error
		if master, err = keystore.LoadOrCreateMaster(ctx, eng.Pool); err != nil {
			return nil, nil, err
		}
		logger.Warn("TELLYOU_MASTER_KEY is not set: message content is sealed with a master key stored in the database itself, " +
			"so a dump of the database can open it; set TELLYOU_MASTER_KEY (tellyou keys generate) and see SECURITY.md")
	}
	keys, err := keystore.New(ctx, eng.Pool, keystore.Config{Master: master, PreviousMaster: cfg.Sealing.PreviousMasterKey})
	if err != nil {
		return nil, nil, err
	}
	sealer, err := sealing.NewSealer(keys)
	if err != nil {
		return nil, nil, err
	}
	return keys, sealer, nil
}
