package crashtest_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// tellyouBinary is the path of the server binary TestMain builds once for all
// tests of the package. It is built without -race even when the tests are: the
// server is a black box here.
var tellyouBinary string

func TestMain(m *testing.M) {
	os.Exit(buildAndRun(m))
}

func buildAndRun(m *testing.M) int {
	dir, err := os.MkdirTemp("", "tellyou-crashtest-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "crashtest: temp dir for the binary:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	tellyouBinary = filepath.Join(dir, "tellyou")
	build := exec.Command("go", "build", "-o", tellyouBinary, "github.com/tellyou/tellyou/cmd/tellyou")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "crashtest: go build github.com/tellyou/tellyou/cmd/tellyou: %v\n%s", err, out)
		return 1
	}
	return m.Run()
}
