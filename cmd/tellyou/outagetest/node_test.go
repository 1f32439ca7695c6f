package outagetest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/tellyou/tellyou/cmd/tellyou/servertest"
	"github.com/tellyou/tellyou/handlers/transport/auth"
)

// binary is the tellyou binary the tests run, built once by TestMain.
var binary string

func TestMain(m *testing.M) { os.Exit(servertest.Main(m, &binary, raceEnabled)) }

// testSecret signs the tokens of every node the tests start.
const testSecret = "outage-test-secret-0123456789abcdef"

// node is a `tellyou serve` child process on a loopback port.
type node struct {
	*servertest.Node
}

// startNode runs `tellyou serve` on databaseURL with extra environment and
// waits until it is ready; it is stopped when the test ends.
func startNode(t *testing.T, name, databaseURL string, extra ...string) *node {
	t.Helper()
	env := append([]string{"TELLYOU_DATABASE_URL=" + databaseURL, "TELLYOU_JWT_SECRET=" + testSecret}, extra...)
	return &node{Node: servertest.Start(t, binary, name, env...)}
}

// metrics returns the node's /metrics page.
func (n *node) metrics(t *testing.T) string {
	t.Helper()
	resp, err := http.Get(n.Base + "/metrics")
	if err != nil {
		t.Fatalf("GET /metrics: %v", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %d, %v", resp.StatusCode, err)
	}
	return string(body)
}

// get fetches a JSON answer as user into out.
func (n *node) get(t *testing.T, user, path string, out any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, n.Base+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token(t, user))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(resp.Body)
		t.Fatalf("GET %s: %d %s", path, resp.StatusCode, body)
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		t.Fatalf("GET %s: decode: %v", path, err)
	}
}

func token(t *testing.T, user string) string {
	t.Helper()
	tok, err := auth.Mint([]byte(testSecret), auth.Principal{UserID: user}, time.Now(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// client is one WebSocket connection. A reader goroutine sorts what arrives:
// answers (frames with an id) to the waiting request, pushes to a list.
type client struct {
	t    *testing.T
	user string
	conn *websocket.Conn

	mu      sync.Mutex
	waiting map[string]chan map[string]any
	pushes  []push
	nextID  int
	closed  chan struct{}
}

// push is a message frame as the client received it.
type push struct {
	sessionID string
	seq       int64
	clientID  string
	at        time.Time
}

func (n *node) dial(t *testing.T, user string) *client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	url := strings.Replace(n.Base, "http", "ws", 1) + "/v1/ws?token=" + token(t, user)
	conn, _, err := websocket.Dial(ctx, url, nil)
	if err != nil {
		t.Fatalf("dial %s as %s: %v", n.Name, user, err)
	}
	conn.SetReadLimit(1 << 20)
	c := &client{t: t, user: user, conn: conn, waiting: map[string]chan map[string]any{}, closed: make(chan struct{})}
	go c.read()
	t.Cleanup(func() {
		conn.CloseNow()
		<-c.closed
	})
	return c
}

func (c *client) read() {
	defer close(c.closed)
	for {
		_, data, err := c.conn.Read(context.Background())
		if err != nil {
			return
		}
		var f map[string]any
		if json.Unmarshal(data, &f) != nil {
			continue
		}
		c.mu.Lock()
		if id, ok := f["id"].(string); ok {
			if ch := c.waiting[id]; ch != nil {
				delete(c.waiting, id)
				ch <- f
			}
		} else if f["type"] == "message" {
			m := f["message"].(map[string]any)
			c.pushes = append(c.pushes, push{sessionID: m["sessionId"].(string), seq: int64(m["seq"].(float64)),
				clientID: m["clientMessageId"].(string), at: time.Now()})
		}
		c.mu.Unlock()
	}
}

// request sends a frame (given without its id) and returns the answer.
func (c *client) request(frame map[string]any) map[string]any {
	c.t.Helper()
	f, err := c.tryRequest(frame)
	if err != nil {
		c.t.Fatal(err)
	}
	return f
}

// tryRequest is request for goroutines other than the test's.
func (c *client) tryRequest(frame map[string]any) (map[string]any, error) {
	c.mu.Lock()
	c.nextID++
	id := fmt.Sprintf("%s-%d", c.user, c.nextID)
	answer := make(chan map[string]any, 1)
	c.waiting[id] = answer
	c.mu.Unlock()
	frame["id"] = id
	data, _ := json.Marshal(frame)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := c.conn.Write(ctx, websocket.MessageText, data); err != nil {
		return nil, fmt.Errorf("%s: write %s: %w", c.user, data, err)
	}
	select {
	case f := <-answer:
		return f, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("%s: no answer to %s within 30s", c.user, data)
	}
}

// sendFrame is a text message to another user.
func sendFrame(to, clientMessageID string) map[string]any {
	return map[string]any{"type": "send", "toUserId": to, "messageType": 1,
		"content": "text of " + clientMessageID, "clientMessageId": clientMessageID}
}

// received returns the pushes so far.
func (c *client) received() []push {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]push(nil), c.pushes...)
}

func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	return servertest.WaitFor(t, timeout, what, cond)
}
