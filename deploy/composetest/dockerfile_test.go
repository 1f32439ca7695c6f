package composetest_test

import (
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// instruction is one Dockerfile instruction, continuation lines joined.
type instruction struct {
	cmd  string // upper case: FROM, RUN, ...
	args string
}

func parseDockerfile(t *testing.T, root string) []instruction {
	t.Helper()
	var out []instruction
	var cur strings.Builder
	for _, line := range strings.Split(readFile(t, filepath.Join(root, "Dockerfile")), "\n") {
		line = strings.TrimSpace(line)
		if cur.Len() == 0 && (line == "" || strings.HasPrefix(line, "#")) {
			continue
		}
		if strings.HasPrefix(line, "#") {
			continue // a comment inside a continued instruction
		}
		if more, ok := strings.CutSuffix(line, "\\"); ok {
			cur.WriteString(more + " ")
			continue
		}
		cur.WriteString(line)
		cmd, args, _ := strings.Cut(cur.String(), " ")
		out = append(out, instruction{strings.ToUpper(cmd), strings.TrimSpace(args)})
		cur.Reset()
	}
	if len(out) == 0 {
		t.Fatal("Dockerfile has no instructions")
	}
	return out
}

// find returns the args of every instruction cmd, in order.
func find(ins []instruction, cmd string) []string {
	var out []string
	for _, in := range ins {
		if in.cmd == cmd {
			out = append(out, in.args)
		}
	}
	return out
}

// listenPort is the port of the image's TELLYOU_ADDR.
func listenPort(t *testing.T, ins []instruction) string {
	t.Helper()
	for _, args := range find(ins, "ENV") {
		for _, kv := range strings.Fields(args) {
			if addr, ok := strings.CutPrefix(kv, "TELLYOU_ADDR="); ok {
				host, port, err := net.SplitHostPort(addr)
				if err != nil || host != "0.0.0.0" {
					t.Fatalf("Dockerfile TELLYOU_ADDR=%s: want 0.0.0.0:<port>, reachable from other containers", addr)
				}
				return port
			}
		}
	}
	t.Fatal("the Dockerfile sets no TELLYOU_ADDR; the server would listen on the container's loopback only")
	return ""
}

func TestDockerfileUsesTheModulesGoVersion(t *testing.T) {
	t.Parallel()
	root := repoRoot(t)
	m := regexp.MustCompile(`(?m)^go (\S+)$`).FindStringSubmatch(readFile(t, filepath.Join(root, "go.mod")))
	if m == nil {
		t.Fatal("go.mod has no go line")
	}
	ins := parseDockerfile(t, root)
	var version string
	for _, args := range find(ins, "ARG") {
		if v, ok := strings.CutPrefix(args, "GO_VERSION="); ok {
			version = v
		}
	}
	if version != m[1] {
		t.Errorf("Dockerfile ARG GO_VERSION=%q, go.mod says go %s: update the Dockerfile", version, m[1])
	}
	from := find(ins, "FROM")
	if len(from) < 2 || !strings.HasPrefix(from[0], "golang:${GO_VERSION}") {
		t.Errorf("Dockerfile stages %q: want a golang:${GO_VERSION} builder and a runtime stage", from)
	}
}

func TestDockerfileBuildsTheServer(t *testing.T) {
	t.Parallel()
	root := repoRoot(t)
	ins := parseDockerfile(t, root)
	build := regexp.MustCompile(`go build .*-o (\S+) (\./\S+)$`)
	var binary, pkg string
	for _, args := range find(ins, "RUN") {
		if m := build.FindStringSubmatch(args); m != nil {
			binary, pkg = m[1], m[2]
			if !strings.Contains(args, "-trimpath") {
				t.Errorf("go build without -trimpath: %s", args)
			}
		}
	}
	if pkg == "" {
		t.Fatal("no `go build ... -o <file> ./<package>` in the Dockerfile")
	}
	if !isMainPackage(t, filepath.Join(root, filepath.FromSlash(pkg))) {
		t.Errorf("Dockerfile builds %s, which is not a main package in this repository", pkg)
	}
	copies := find(ins, "COPY")
	if want := "--from=build " + binary + " /tellyou"; !strings.Contains(strings.Join(copies, "\n"), want) {
		t.Errorf("no COPY %s in %q", want, copies)
	}
	if got := find(ins, "ENTRYPOINT"); len(got) != 1 || got[0] != `["/tellyou"]` {
		t.Errorf("ENTRYPOINT %q, want [\"/tellyou\"]", got)
	}
	cmd := find(ins, "CMD")
	if len(cmd) != 1 || cmd[0] != `["serve"]` {
		t.Errorf("CMD %q, want [\"serve\"]", cmd)
	}
	if !strings.Contains(readFile(t, filepath.Join(root, "cmd", "tellyou", "main.go")), `case "serve":`) {
		t.Error(`cmd/tellyou/main.go has no "serve" command any more`)
	}
	port := listenPort(t, ins)
	if expose := find(ins, "EXPOSE"); len(expose) != 1 || expose[0] != port {
		t.Errorf("EXPOSE %q, but TELLYOU_ADDR listens on %s", expose, port)
	}
	known := knownVariables(t, root)
	for _, args := range find(ins, "ENV") {
		for _, kv := range strings.Fields(args) {
			if name, _, _ := strings.Cut(kv, "="); strings.HasPrefix(name, "TELLYOU_") && !known[name] {
				t.Errorf("Dockerfile sets %s, which cmd/tellyou/config.go does not read", name)
			}
		}
	}
	if users := find(ins, "USER"); len(users) == 0 || strings.HasPrefix(users[len(users)-1], "root") || strings.HasPrefix(users[len(users)-1], "0") {
		t.Errorf("the image runs as %q; want a non-root USER", users)
	}
}

func isMainPackage(t *testing.T, dir string) bool {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil || len(files) == 0 {
		return false
	}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatalf("read %s: %v", f, err)
		}
		if regexp.MustCompile(`(?m)^package main$`).Match(b) {
			return true
		}
	}
	return false
}

// The build context must keep what `go build` needs.
func TestDockerignoreKeepsTheSources(t *testing.T) {
	t.Parallel()
	root := repoRoot(t)
	for _, line := range strings.Split(readFile(t, filepath.Join(root, ".dockerignore")), "\n") {
		line = strings.TrimPrefix(strings.TrimSpace(line), "/")
		switch line {
		case "*", "**", ".", "go.mod", "go.sum", "cmd", "*.go", "**/*.go":
			t.Errorf(".dockerignore excludes %q, which the build needs", line)
		}
	}
}
