//go:build !race

package outagetest_test

const raceEnabled = false
