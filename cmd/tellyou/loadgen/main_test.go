package loadgen_test

import (
	"os"
	"testing"

	"github.com/tellyou/tellyou/cmd/tellyou/servertest"
)

// tellyouBinary is the server binary TestMain builds once (without -race:
// the server is a black box here).
var tellyouBinary string

func TestMain(m *testing.M) { os.Exit(servertest.Main(m, &tellyouBinary, false)) }
