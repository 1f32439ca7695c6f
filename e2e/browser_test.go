//go:build unix

package e2e_test

import (
	"bytes"
	"context"
	"errors"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/tellyou/tellyou/cmd/tellyou/servertest"
	"github.com/tellyou/tellyou/events/pgstore/pgtest"
)

// binary is the tellyou binary under test, built once by TestMain.
var binary string

func TestMain(m *testing.M) { os.Exit(servertest.Main(m, &binary, raceEnabled)) }

// chromiumPath is where Debian's chromium package puts the browser.
const chromiumPath = "/usr/bin/chromium"

// scriptTimeout bounds one run of the browser script.
const scriptTimeout = 5 * time.Minute

// browserTools returns node and Chromium, or fails saying what to install.
func browserTools(t *testing.T) (node, chromium string) {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatal("the browser test needs node on PATH: install it with `apt-get install -y nodejs npm`")
	}
	if _, err := os.Stat(filepath.Join("node_modules", "playwright-core", "package.json")); err != nil {
		t.Fatal("the browser test needs playwright-core: run `npm ci` in e2e/ (.ci/run does)")
	}
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Fatalf("the browser test needs Chromium at %s: install it with `apt-get install -y chromium` (.ci/run does)", chromiumPath)
	}
	return node, chromiumPath
}

func TestTwoUsersChatInTheBrowser(t *testing.T) {
	node, chromium := browserTools(t)
	srv := servertest.Start(t, binary, "web", "TELLYOU_DEV_LOGIN=1", "TELLYOU_DATABASE_URL="+pgtest.NewDatabase(t))

	shots, err := filepath.Abs("screenshots")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}
	shot := filepath.Join(shots, "chat.png")
	// Stale pictures must not pass for new ones.
	stale, _ := filepath.Glob(filepath.Join(shots, "chat*.png"))
	for _, f := range stale {
		_ = os.Remove(f)
	}

	ctx, cancel := context.WithTimeout(context.Background(), scriptTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "chat.mjs", "--base", srv.Base, "--chromium", chromium, "--screenshot", shot)
	// The script and its browser run in a process group of their own, killed
	// whole when the script overruns, so no Chromium outlives the test.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 10 * time.Second
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err = cmd.Run()
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		t.Fatalf("browser script did not finish within %v; its output:\n%s", scriptTimeout, out.String())
	}
	if err != nil {
		t.Fatalf("browser script failed (%v); its output:\n%s", err, out.String())
	}
	t.Logf("browser script:\n%s", out.String())

	f, err := os.Open(shot)
	if err != nil {
		t.Fatalf("the script wrote no screenshot: %v", err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("screenshot %s is not a PNG: %v", shot, err)
	}
	if b := img.Bounds(); b.Dx() < 1000 || b.Dy() < 400 {
		t.Fatalf("screenshot is %dx%d, want both users' windows side by side", b.Dx(), b.Dy())
	}
	if os.Getenv("TELLYOU_E2E_UPDATE_DOCS") == "1" {
		data, err := os.ReadFile(shot)
		if err == nil {
			err = os.WriteFile(filepath.Join("..", "docs", "webclient.png"), data, 0o644)
		}
		if err != nil {
			t.Fatalf("copy the screenshot to docs/webclient.png: %v", err)
		}
	}
}
