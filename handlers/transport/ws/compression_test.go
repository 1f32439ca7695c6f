package ws_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/tellyou/tellyou/handlers/transport/auth"
	"github.com/tellyou/tellyou/handlers/transport/ws"
	"github.com/tellyou/tellyou/readmodels"
)

// largeContent is ~20 KB of multi-byte UTF-8 text, as compressible as prose.
func largeContent() string {
	var sb strings.Builder
	for i := 0; sb.Len() < 20000; i++ {
		fmt.Fprintf(&sb, "%d. Grüße aus Köln — 你好，世界！こんにちは 🦊👩‍💻 line %d of the minutes\n", i*7919%1000, i)
	}
	return sb.String()
}

type messageFrame struct {
	Message readmodels.Message `json:"message"`
}

type messagesFrame struct {
	ID       string               `json:"id"`
	Messages []readmodels.Message `json:"messages"`
}

type sendAck struct {
	ID, SessionID, MessageID string
	Seq                      int64
}

// exchange has alice send content to bob, and returns the ack, what bob was
// pushed, how many bytes bob read for it, and alice's sync of the session.
func exchange(t *testing.T, alice, bob *client, content string) (sendAck, readmodels.Message, int64, []readmodels.Message) {
	t.Helper()
	frame, err := json.Marshal(map[string]any{"type": "send", "id": "s1", "toUserId": "bob", "messageType": 1,
		"content": content, "clientMessageId": fmt.Sprintf("big-%d", time.Now().UnixNano())})
	if err != nil {
		t.Fatal(err)
	}
	before := bob.read.Load()
	alice.send(string(frame))
	var ack sendAck
	alice.next("sendAck", &ack)
	var pushed messageFrame
	bob.next("message", &pushed)
	wire := bob.read.Load() - before

	// sync reads the read models: wait for the projection.
	deadline := time.Now().Add(20 * time.Second)
	for {
		alice.send(fmt.Sprintf(`{"type":"sync","id":"y1","sessionId":%q,"afterSeq":%d}`, ack.SessionID, ack.Seq-1))
		var synced messagesFrame
		alice.next("messages", &synced)
		if len(synced.Messages) > 0 {
			return ack, pushed.Message, wire, synced.Messages
		}
		if time.Now().After(deadline) {
			t.Fatalf("message %d not in the read models after 20s", ack.Seq)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestClientsOfferingDeflateGetItAndLargeMessagesArriveIntact(t *testing.T) {
	t.Parallel()
	e := newLiveEnv(t, ws.Limits{})
	alice, bob := e.dial(t, "alice", true), e.dial(t, "bob", true)
	for name, c := range map[string]*client{"alice": alice, "bob": bob} {
		ext := c.resp.Header.Get("Sec-WebSocket-Extensions")
		if !strings.HasPrefix(ext, "permessage-deflate") || !strings.Contains(ext, "server_no_context_takeover") ||
			!strings.Contains(ext, "client_no_context_takeover") {
			t.Fatalf("%s's Sec-WebSocket-Extensions = %q, want permessage-deflate without context takeover", name, ext)
		}
	}
	content := largeContent()
	ack, pushed, wire, synced := exchange(t, alice, bob, content)
	if pushed.Content != content || pushed.MessageID != ack.MessageID {
		t.Fatalf("bob was pushed %d bytes of content (message %s), want the %d sent (%s)", len(pushed.Content), pushed.MessageID, len(content), ack.MessageID)
	}
	if wire >= int64(len(content)) {
		t.Errorf("bob read %d bytes for a %d-byte message: the push was not compressed", wire, len(content))
	}
	if len(synced) != 1 || synced[0].Content != content || synced[0].Seq != ack.Seq {
		t.Fatalf("sync gave %d messages, the first with %d bytes; want the one sent", len(synced), len(synced[0].Content))
	}
	t.Logf("a %d-byte message took %d bytes on the wire to bob", len(content), wire)

	// Small frames go out as they are, but still arrive.
	_, pushed, _, _ = exchange(t, alice, bob, "hi ✓")
	if pushed.Content != "hi ✓" {
		t.Errorf("small message pushed as %q", pushed.Content)
	}
}

func TestClientsNotOfferingDeflateAreServedUncompressed(t *testing.T) {
	t.Parallel()
	e := newLiveEnv(t, ws.Limits{})
	alice, bob := e.dial(t, "alice", false), e.dial(t, "bob", false)
	if ext := bob.resp.Header.Get("Sec-WebSocket-Extensions"); ext != "" {
		t.Fatalf("Sec-WebSocket-Extensions = %q for a client that offered nothing", ext)
	}
	content := largeContent()
	_, pushed, wire, synced := exchange(t, alice, bob, content)
	if pushed.Content != content || len(synced) != 1 || synced[0].Content != content {
		t.Fatalf("push %d bytes, sync %d messages; want the %d-byte message intact", len(pushed.Content), len(synced), len(content))
	}
	if wire < int64(len(content)) {
		t.Errorf("bob read %d bytes for a %d-byte message without compression", wire, len(content))
	}
}

func TestCompressionCanBeTurnedOff(t *testing.T) {
	t.Parallel()
	e := newLiveEnv(t, ws.Limits{DisableCompression: true})
	alice, bob := e.dial(t, "alice", true), e.dial(t, "bob", true)
	if ext := bob.resp.Header.Get("Sec-WebSocket-Extensions"); ext != "" {
		t.Fatalf("Sec-WebSocket-Extensions = %q with compression off", ext)
	}
	content := largeContent()
	_, pushed, wire, _ := exchange(t, alice, bob, content)
	if pushed.Content != content || wire < int64(len(content)) {
		t.Fatalf("push of %d bytes in %d wire bytes; want it intact and uncompressed", len(pushed.Content), wire)
	}
}

// TestCompressedFramesAreLimitedOnceDecompressed: a frame that is small on
// the wire but over MaxFrameBytes once decompressed closes the connection
// with 1009, as an uncompressed one would.
func TestCompressedFramesAreLimitedOnceDecompressed(t *testing.T) {
	t.Parallel()
	h := newHandler(t, ws.Limits{MaxFrameBytes: 4096})
	srv := httptest.NewServer(h)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := h.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		srv.Close()
	})
	token, err := auth.Mint(secret, auth.Principal{UserID: "ann"}, time.Now(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, resp, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http")+"/v1/ws?token="+token,
		&websocket.DialOptions{CompressionMode: websocket.CompressionNoContextTakeover})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.CloseNow() })
	if ext := resp.Header.Get("Sec-WebSocket-Extensions"); !strings.HasPrefix(ext, "permessage-deflate") {
		t.Fatalf("Sec-WebSocket-Extensions = %q", ext)
	}
	frame := `{"type":"typing","sessionId":"` + strings.Repeat("a", 100000) + `"}`
	if err := c.Write(ctx, websocket.MessageText, []byte(frame)); err != nil {
		t.Fatal(err)
	}
	_, _, err = c.Read(ctx)
	if websocket.CloseStatus(err) != websocket.StatusMessageTooBig {
		t.Fatalf("read after a 100 KB frame sent compressed: %v, want close 1009", err)
	}
}
