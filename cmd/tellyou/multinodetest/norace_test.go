//go:build !race

package multinodetest_test

const raceEnabled = false
