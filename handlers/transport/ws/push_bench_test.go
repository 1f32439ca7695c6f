package ws_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/google/uuid"
	dto "github.com/prometheus/client_model/go"

	"github.com/tellyou/tellyou/events"
	"github.com/tellyou/tellyou/handlers/command"
	"github.com/tellyou/tellyou/handlers/delivery"
	"github.com/tellyou/tellyou/handlers/metrics"
	"github.com/tellyou/tellyou/handlers/query"
	"github.com/tellyou/tellyou/handlers/transport/auth"
	"github.com/tellyou/tellyou/handlers/transport/ws"
)

type membersFunc func(ctx context.Context, sessionID string) ([]string, error)

func (f membersFunc) Members(ctx context.Context, sessionID string) ([]string, error) {
	return f(ctx, sessionID)
}

// BenchmarkPushWritePath measures pushes from the hub to real WebSocket
// clients over loopback: the hub encodes each message once and enqueues it on
// every member's connection, whose writer puts it on the socket; clients read
// and count. One op is one message; deliveries/s counts frames the clients
// read; writes/delivery and bytes/write count the process's write syscalls
// (/proc/self/io: the clients only read, so they are the server's). The
// publisher stays at most pushWindow messages ahead of the slowest client.
func BenchmarkPushWritePath(b *testing.B) {
	for _, tc := range []struct{ conns, content int }{{10, 20}, {100, 20}, {500, 20}, {100, 8 << 10}} {
		b.Run(fmt.Sprintf("connections=%d/content=%d", tc.conns, tc.content), func(b *testing.B) {
			benchmarkPushWritePath(b, tc.conns, strings.Repeat("x", tc.content))
		})
	}
}

const pushWindow = 128

func benchmarkPushWritePath(b *testing.B, conns int, content string) {
	members := make([]string, conns+1)
	members[0] = "ann" // the sender, not connected
	for i := 1; i <= conns; i++ {
		members[i] = fmt.Sprintf("member%03d", i)
	}
	m := metrics.New()
	logger := slog.New(slog.DiscardHandler)
	hub, err := delivery.New(delivery.Config{Metrics: m, Logger: logger,
		Options: delivery.Options{RedeliveryTimeout: time.Hour},
		Members: membersFunc(func(context.Context, string) ([]string, error) { return members, nil })})
	if err != nil {
		b.Fatal(err)
	}
	h, err := ws.New(ws.Config{Commands: &command.Commands{}, Queries: &query.Queries{}, Hub: hub, Secret: secret,
		Metrics: m, Logger: logger})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	hubDone := make(chan error, 1)
	go func() { hubDone <- hub.Run(ctx) }()
	<-hub.Ready()
	srv := httptest.NewServer(h)
	defer func() {
		sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer scancel()
		if err := h.Shutdown(sctx); err != nil {
			b.Error(err)
		}
		srv.Close()
		cancel()
		if err := <-hubDone; err != nil {
			b.Error(err)
		}
	}()

	url := "ws" + strings.TrimPrefix(srv.URL, "http") + "/v1/ws?token="
	received := make([]atomic.Int64, conns)
	var readers sync.WaitGroup
	clients := make([]*websocket.Conn, 0, conns)
	defer func() {
		for _, c := range clients {
			_ = c.CloseNow()
		}
		readers.Wait()
	}()
	for i, user := range members[1:] {
		tok, err := auth.Mint(secret, auth.Principal{UserID: user}, time.Now(), time.Hour)
		if err != nil {
			b.Fatal(err)
		}
		dctx, dcancel := context.WithTimeout(context.Background(), 10*time.Second)
		c, _, err := websocket.Dial(dctx, url+tok, nil)
		dcancel()
		if err != nil {
			b.Fatal(err)
		}
		c.SetReadLimit(1 << 20)
		clients = append(clients, c)
		readers.Go(func() {
			for {
				if _, _, err := c.Read(context.Background()); err != nil {
					return
				}
				received[i].Add(1)
			}
		})
	}
	waitAll := func(want int64) {
		deadline := time.Now().Add(30 * time.Second)
		for i := range received {
			for received[i].Load() < want {
				if time.Now().After(deadline) {
					b.Fatalf("client %d read %d frames after 30s, want %d", i, received[i].Load(), want)
				}
				time.Sleep(50 * time.Microsecond)
			}
		}
	}

	// Clients are pushed to once the server has registered their connections.
	for deadline := time.Now().Add(30 * time.Second); ; {
		var g dto.Metric
		if err := m.ConnectedClients.Write(&g); err != nil {
			b.Fatal(err)
		}
		if int(g.GetGauge().GetValue()) == conns {
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("%v of %d connections registered after 30s", g.GetGauge().GetValue(), conns)
		}
		time.Sleep(time.Millisecond)
	}

	sessionID := "g:" + uuid.NewString()
	msgs := make([]events.Committed, b.N)
	for i := range msgs {
		msgs[i] = committedMessage(b, sessionID, int64(i+1), content)
	}
	b.ReportAllocs()
	writes, written := processWrites(b)
	b.ResetTimer()
	for i, msg := range msgs {
		if i >= pushWindow && i%(pushWindow/2) == 0 {
			waitAll(int64(i - pushWindow/2))
		}
		hub.Committed(msg)
	}
	waitAll(int64(b.N))
	b.StopTimer()
	writesAfter, writtenAfter := processWrites(b)
	b.ReportMetric(float64(conns*b.N)/b.Elapsed().Seconds(), "deliveries/s")
	if writes := writesAfter - writes; writes > 0 {
		b.ReportMetric(float64(writes)/float64(conns*b.N), "writes/delivery")
		b.ReportMetric(float64(writtenAfter-written)/float64(writes), "bytes/write")
	}
}

// processWrites returns the write syscalls this process has made and the
// bytes they wrote (syscw and wchar of /proc/self/io; zeros where there is
// none).
func processWrites(b *testing.B) (calls, bytes int64) {
	data, err := os.ReadFile("/proc/self/io")
	if err != nil {
		return 0, 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		name, value, ok := strings.Cut(line, ": ")
		if !ok {
			continue
		}
		n, err := strconv.ParseInt(value, 10, 64)
		if err != nil {
			b.Fatalf("/proc/self/io %s: %v", line, err)
		}
		switch name {
		case "syscw":
			calls = n
		case "wchar":
			bytes = n
		}
	}
	return calls, bytes
}

// committedMessage is a MessageSent from ann as the fast path hands it to
// the hub: the append's values, at version and position seq.
func committedMessage(b testing.TB, sessionID string, seq int64, content string) events.Committed {
	env := events.Envelope{Meta: events.Metadata{Actor: "ann", OccurredAt: time.Now().UnixMilli()},
		Payload: events.MessageSent{SessionID: sessionID, MessageID: uuid.NewString(), Seq: seq, SenderID: "ann",
			MessageType: 1, Content: content, ClientMessageID: fmt.Sprint("c", seq)}}
	d, err := events.Encode(env)
	if err != nil {
		b.Fatal(err)
	}
	return events.Committed{StreamID: sessionID, FirstVersion: seq, Position: events.Position(seq),
		Prev: events.Position(seq - 1), Events: []events.EventData{d}, Envelopes: []events.Envelope{env}}
}
