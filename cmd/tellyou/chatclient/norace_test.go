//go:build !race

package chatclient_test

const raceEnabled = false
