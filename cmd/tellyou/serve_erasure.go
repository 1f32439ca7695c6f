package main

import (
	"context"

	"github.com/tellyou/tellyou/handlers/command"
)

// noKeysToErase is the KeyEraser of a server whose content is not sealed
// yet: there is no data key to delete, so it does nothing. The keystore
// (events/keystore, *keystore.Store.EraseUser) replaces it when sealed
// content is merged; until then an erased user's content stays in clear in
// the event log, and only the read models forget it.
type noKeysToErase struct{}

func (noKeysToErase) EraseUser(context.Context, string) error { return nil }

var _ command.KeyEraser = noKeysToErase{}

// newEraser returns the handler of erasures, for DELETE /v1/users/{id} and
// `tellyou erase`.
func newEraser(store command.EventStore) (*command.EraseHandler, error) {
	return command.NewEraseHandler(command.EraseConfig{Store: store, Keys: noKeysToErase{}})
}
