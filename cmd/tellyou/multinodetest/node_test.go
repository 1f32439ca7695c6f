package multinodetest_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/tellyou/tellyou/cmd/tellyou/servertest"
	"github.com/tellyou/tellyou/handlers/transport/auth"
)

// binary is the tellyou binary the tests run, built once by TestMain.
var binary string

func TestMain(m *testing.M) { os.Exit(servertest.Main(m, &binary, raceEnabled)) }

// testSecret signs the tokens of every node the tests start.
const testSecret = "multinode-test-secret-0123456789abcdef"

// node is a `tellyou serve` child process on a loopback port.
type node struct {
	*servertest.Node
	t *testing.T
}

// startNode runs `tellyou serve` with env and waits until it is ready; it is
// stopped when the test ends.
func startNode(t *testing.T, name string, env ...string) *node {
	t.Helper()
	return &node{Node: servertest.Start(t, binary, name, append([]string{"TELLYOU_JWT_SECRET=" + testSecret}, env...)...), t: t}
}

func (n *node) stop() { n.Stop(n.t) }

func (n *node) kill() { n.Kill() }

func (n *node) readyStatus() int {
	status, _ := n.Ready()
	return status
}

// call makes an HTTP request as user (with roles) and decodes the JSON answer
// into out.
func (n *node) call(t *testing.T, method, user, path string, body, out any, roles ...string) {
	t.Helper()
	var in io.Reader
	if body != nil {
		data, _ := json.Marshal(body)
		in = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, n.Base+path, in)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token(t, user, roles...))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		data, _ := io.ReadAll(resp.Body)
		t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, data)
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		t.Fatalf("%s %s: decode: %v", method, path, err)
	}
}

func token(t *testing.T, user string, roles ...string) string {
	t.Helper()
	tok, err := auth.Mint([]byte(testSecret), auth.Principal{UserID: user, Roles: roles}, time.Now(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	return servertest.WaitFor(t, timeout, what, cond)
}

// natsReachable tells whether the machine's NATS server answers.
func natsReachable() bool {
	c, err := net.DialTimeout("tcp", "127.0.0.1:4222", 2*time.Second)
	if err != nil {
		return false
	}
	c.Close()
	return true
}
