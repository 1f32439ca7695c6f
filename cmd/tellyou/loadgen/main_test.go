package loadgen_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// tellyouBinary is the server binary TestMain builds once (without -race:
// the server is a black box here).
var tellyouBinary string

func TestMain(m *testing.M) {
	os.Exit(buildAndRun(m))
}

func buildAndRun(m *testing.M) int {
	dir, err := os.MkdirTemp("", "tellyou-loadgen-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadgen: temp dir for the binary:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	tellyouBinary = filepath.Join(dir, "tellyou")
	build := exec.Command("go", "build", "-o", tellyouBinary, "github.com/tellyou/tellyou/cmd/tellyou")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "loadgen: go build: %v\n%s", err, out)
		return 1
	}
	return m.Run()
}
