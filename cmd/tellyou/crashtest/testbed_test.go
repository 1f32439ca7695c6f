package crashtest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tellyou/tellyou/cmd/tellyou/servertest"
	"github.com/tellyou/tellyou/events/pgstore/pgtest"
	"github.com/tellyou/tellyou/handlers/transport/auth"
)

// testSecret signs every token of these tests; the server gets it as
// TELLYOU_JWT_SECRET.
const testSecret = "crashtest-secret-0123456789abcdef"

// testbed is one server process on its own fresh database, with a pool on
// that database for reading the log and the read models directly.
type testbed struct {
	t      *testing.T
	srv    *serverProcess
	dbURL  string
	db     *pgxpool.Pool
	http   *http.Client
	secret []byte
}

// newTestbed creates a database, starts `tellyou serve` on it and waits until
// it is ready. The cleanups kill the server (whatever happened), print its
// output when the test failed, and drop the database.
func newTestbed(t *testing.T, ctx context.Context) *testbed {
	t.Helper()
	dbURL := pgtest.NewDatabase(t)
	addr := servertest.FreeAddr(t) // the server binds it again at every restart
	srv := newServerProcess(tellyouBinary, addr, map[string]string{
		"TELLYOU_DATABASE_URL": dbURL,
		"TELLYOU_JWT_SECRET":   testSecret,
		"TELLYOU_ADDR":         addr,
		// Far above what the clients send: the rate limit is not under test.
		"TELLYOU_SEND_RATE":  "1000000",
		"TELLYOU_SEND_BURST": "1000000",
	})
	// Cleanups run last-registered first: the server is killed before the
	// database is dropped.
	t.Cleanup(func() {
		srv.stop()
		if t.Failed() {
			t.Logf("tellyou serve output (all runs, last %d KiB at most):\n%s", srv.logs.max>>10, srv.logs.String())
		}
	})
	db, err := pgxpool.New(ctx, dbURL)
	if err != nil {
		t.Fatalf("open pool on the test database: %v", err)
	}
	t.Cleanup(db.Close)
	b := &testbed{t: t, srv: srv, dbURL: dbURL, db: db, http: &http.Client{Timeout: time.Minute}, secret: []byte(testSecret)}
	if err := srv.start(); err != nil {
		t.Fatal(err)
	}
	readyCtx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := srv.waitReady(readyCtx); err != nil {
		t.Fatalf("first start: %v", err)
	}
	return b
}

// token mints a token valid for a day.
func (b *testbed) token(user string, roles ...string) string {
	tok, err := auth.Mint(b.secret, auth.Principal{UserID: user, Roles: roles}, time.Now(), 24*time.Hour)
	if err != nil {
		panic(fmt.Sprintf("mint token for %q: %v", user, err)) // only with a bad user id: a bug in the test
	}
	return tok
}

// wsURL is the WebSocket address for user.
func (b *testbed) wsURL(user string) string {
	return strings.Replace(b.srv.base, "http://", "ws://", 1) + "/v1/ws?token=" + url.QueryEscape(b.token(user))
}

// do sends a JSON request as user (an auditor when asked) and decodes a 2xx
// answer into out. Other statuses are errors carrying the body.
func (b *testbed) do(ctx context.Context, method, path string, body any, out any, user string, roles ...string) error {
	var rd io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(ctx, method, b.srv.base+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+b.token(user, roles...))
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := b.http.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s as %s: %w", method, path, user, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("%s %s as %s: read answer: %w", method, path, user, err)
	}
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s as %s: %s: %s", method, path, user, resp.Status, bytes.TrimSpace(data))
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("%s %s as %s: decode %q: %w", method, path, user, data, err)
		}
	}
	return nil
}

// runTool runs a tellyou subcommand (rebuild, audit) against the test
// database and returns its stdout; stderr goes into the error.
func (b *testbed) runTool(ctx context.Context, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, tellyouBinary, args...)
	cmd.Env = b.srv.env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.Bytes(), fmt.Errorf("tellyou %s: %v\nstderr:\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.Bytes(), nil
}

// restart starts the server again after a kill or a graceful stop and waits
// until it is ready.
func (b *testbed) restart(ctx context.Context) error {
	if err := b.srv.start(); err != nil {
		return err
	}
	readyCtx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	return b.srv.waitReady(readyCtx)
}
