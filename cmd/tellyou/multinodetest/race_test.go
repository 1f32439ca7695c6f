//go:build race

package multinodetest_test

// raceEnabled builds the server under test with the race detector too.
const raceEnabled = true
