package crashtest_test

import (
	"os"
	"testing"

	"github.com/tellyou/tellyou/cmd/tellyou/servertest"
)

// tellyouBinary is the path of the server binary TestMain builds once for all
// tests of the package. It is built without -race even when the tests are: the
// server is a black box here.
var tellyouBinary string

func TestMain(m *testing.M) { os.Exit(servertest.Main(m, &tellyouBinary, false)) }
