//go:build race

package openapi_test

// raceEnabled builds the server under test with the race detector too.
const raceEnabled = true
