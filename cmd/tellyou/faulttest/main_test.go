package faulttest_test

import (
	"os"
	"testing"

	"github.com/tellyou/tellyou/cmd/tellyou/servertest"
)

// binary is the tellyou binary the tests run, built once by TestMain. It is
// built without -race even when the tests are: the nodes are black boxes
// here, and the load they carry is part of the test.
var binary string

func TestMain(m *testing.M) { os.Exit(servertest.Main(m, &binary, false)) }

// longMode reports whether the long variants were asked for with
// TELLYOU_FAULT_LONG=1; -short always wins.
func longMode() bool {
	return os.Getenv("TELLYOU_FAULT_LONG") == "1" && !testing.Short()
}
