package chatclient_test

import (
	"os"
	"testing"

	"github.com/tellyou/tellyou/cmd/tellyou/servertest"
)

// binary is the tellyou binary the tests run servers from.
var binary string

func TestMain(m *testing.M) { os.Exit(servertest.Main(m, &binary, raceEnabled)) }
