package composetest_test

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"
)

// repoRoot is the module root, two levels above this package.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatalf("find repository root: %v", err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("repository root %s: %v", root, err)
	}
	return root
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	return string(b)
}

var variableName = regexp.MustCompile(`"(TELLYOU_[A-Z0-9_]+)"`)

// knownVariables are the TELLYOU_* names that cmd/tellyou/config.go reads,
// taken from its source so that renaming one there fails these tests.
func knownVariables(t *testing.T, root string) map[string]bool {
	t.Helper()
	src := readFile(t, filepath.Join(root, "cmd", "tellyou", "config.go"))
	known := map[string]bool{}
	for _, m := range variableName.FindAllStringSubmatch(src, -1) {
		known[m[1]] = true
	}
	if !known["TELLYOU_ADDR"] || !known["TELLYOU_DATABASE_URL"] {
		t.Fatalf("cmd/tellyou/config.go: found %d TELLYOU_* names, not TELLYOU_ADDR and TELLYOU_DATABASE_URL; has the configuration moved?", len(known))
	}
	return known
}
