package main

import (
	"github.com/tellyou/tellyou/handlers/command"
)

// newEraser returns the handler of erasures, for DELETE /v1/users/{id} and
// `tellyou erase`: it appends UserErased, then deletes the user's data keys
// from keys (the keystore), so their sealed content in the log can no longer
// be opened.
func newEraser(store command.EventStore, keys command.KeyEraser) (*command.EraseHandler, error) {
	return command.NewEraseHandler(command.EraseConfig{Store: store, Keys: keys})
}
