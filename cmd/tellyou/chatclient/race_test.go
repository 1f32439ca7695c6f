//go:build race

package chatclient_test

// raceEnabled builds the server under test with the race detector too.
const raceEnabled = true
