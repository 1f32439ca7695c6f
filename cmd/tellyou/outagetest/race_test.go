//go:build race

package outagetest_test

// raceEnabled builds the server under test with the race detector too.
const raceEnabled = true
